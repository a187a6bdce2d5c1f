package gpufleet.bench;

/** A JVM that does nothing: the baseline for the agent's resident memory and idle CPU. */
public final class Idle {
    private Idle() {}

    public static void main(String[] args) throws InterruptedException {
        Thread.sleep(Long.MAX_VALUE);
    }
}
