package gpufleet.bench;

/** Benchmarks the project ships; each prints its figures beside a baseline measured in the same run. */
public final class Main {
    private Main() {}

    private static String[] rest(String[] args) {
        return args.length > 1 ? java.util.Arrays.copyOfRange(args, 1, args.length) : new String[0];
    }

    public static void main(String[] args) throws Exception {
        String which = args.length == 0 ? "inventory" : args[0];
        switch (which) {
            case "inventory" -> InventoryBench.main(rest(args));
            case "heartbeats" -> HeartbeatBench.main(rest(args));
            case "host-agent" -> HostAgentBench.main(rest(args));
            case "placement" -> PlacementBench.main(rest(args));
            case "pod-start" -> PodStartBench.main(rest(args));
            case "edge" -> EdgeBench.main(rest(args));
            case "burst" -> BurstBench.main(rest(args));
            case "fleet" -> FleetBench.main(rest(args));
            case "tenant-scale" -> TenantScaleBench.main(rest(args));
            case "tenant-burst" -> TenantBurstBench.main(rest(args));
            case "metering" -> MeteringBench.main(rest(args));
            case "images" -> ImageBench.main(rest(args));
            default -> {
                System.err.println("bench: unknown benchmark '" + which + "'; known: inventory, heartbeats, host-agent, placement, pod-start, edge, burst, fleet, tenant-scale, tenant-burst, metering, images");
                System.exit(2);
            }
        }
    }
}
