package gpufleet.common;

/**
 * Docker's floors on a container's cpu and memory, applied the way the kubelet applies the
 * kernel's: one rule for the check at the API and the conversion on the host.
 *
 * <p>cpu: Docker turns NanoCpus into a CFS quota over a fixed 100 ms period, and the kernel refuses
 * a quota under 1 ms ({@code cpu.cfs_quota_us: invalid argument}). The kubelet raises such a quota
 * to the 1 ms minimum (its {@code MinQuotaPeriod}) rather than refusing the pod, so a pod asking
 * {@code 1m} runs, throttled at 10m. Docker here never gets CpuShares (the kubelet's shares floor
 * of 2 has no counterpart: every container keeps Docker's default weight).
 *
 * <p>memory: Docker refuses a limit under 6 MiB. Raising it would give the container memory that
 * nobody counted (placement and the node's figures add what the pod asked), so such a pod is
 * refused at the API with the reason instead.
 */
public final class ContainerLimits {
    /** Docker's {@code linuxMinMemory}: "Minimum memory limit allowed is 6MB" (6 MiB). */
    public static final long MIN_MEMORY_BYTES = 6L << 20;
    /** The CFS period Docker sets with NanoCpus, in microseconds. */
    public static final long QUOTA_PERIOD_MICROS = 100_000;
    /** The kernel's (and the kubelet's) smallest CFS quota, in microseconds. */
    public static final long MIN_QUOTA_MICROS = 1_000;
    /** NanoCpus that make the smallest quota: 1 ms per 100 ms period, 0.01 cpu. */
    public static final long MIN_NANO_CPUS = MIN_QUOTA_MICROS * 1_000_000_000L / QUOTA_PERIOD_MICROS;

    private ContainerLimits() {}

    /**
     * Docker's NanoCpus for a cpu limit in millicores, raised to the smallest quota the kernel
     * takes; exact (throws {@link ArithmeticException} rather than wrap).
     */
    public static long nanoCpus(long cpuMillis) {
        if (cpuMillis <= 0) {
            throw new IllegalArgumentException("cpu limit must be more than 0, got " + cpuMillis + "m");
        }
        return Math.max(Math.multiplyExact(cpuMillis, 1_000_000L), MIN_NANO_CPUS);
    }

    /** The CFS quota in microseconds that Docker derives from {@link #nanoCpus}. */
    public static long quotaMicros(long cpuMillis) {
        return nanoCpus(cpuMillis) * QUOTA_PERIOD_MICROS / 1_000_000_000L;
    }
}
