package gpufleet.bench;

/** Benchmarks the project ships; each prints its figures beside a baseline measured in the same run. */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        String which = args.length == 0 ? "inventory" : args[0];
        switch (which) {
            case "inventory" -> InventoryBench.main(args.length > 1 ? java.util.Arrays.copyOfRange(args, 1, args.length) : new String[0]);
            default -> {
                System.err.println("bench: unknown benchmark '" + which + "'; known: inventory");
                System.exit(2);
            }
        }
    }
}
