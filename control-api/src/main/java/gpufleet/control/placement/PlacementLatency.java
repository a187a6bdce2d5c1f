package gpufleet.control.placement;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * How long workloads waited for a host: from the create's arrival to the transaction that gave it
 * GPUs. One histogram record per placement, no statement: {@code path="create"} for a workload
 * placed while its create was answered, {@code path="retry"} for one the pending placer placed
 * later (its wait counted from the workload's creation, which can be hours when the fleet is full).
 */
public final class PlacementLatency {
    /** Buckets from a quick create to a workload that waited for a GPU to come free. */
    private static final Duration[] BUCKETS = {
        Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
        Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
        Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofMinutes(15),
        Duration.ofHours(1)};

    private final Timer onCreate;
    private final Timer onRetry;

    public PlacementLatency(MeterRegistry registry) {
        this.onCreate = timer(registry, "create");
        this.onRetry = timer(registry, "retry");
    }

    private static Timer timer(MeterRegistry registry, String path) {
        return Timer.builder("gpufleet_placement_duration")
                .description("time from a workload's create to its placement on a host")
                .tag("path", path)
                .serviceLevelObjectives(BUCKETS)
                .register(registry);
    }

    /** A workload placed while its create was answered, {@code nanos} after the create arrived. */
    public void placedOnCreate(long nanos) {
        onCreate.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** A pending workload the pending placer placed, {@code waited} after its creation. */
    public void placedOnRetry(Duration waited) {
        onRetry.record(waited.isNegative() ? Duration.ZERO : waited);
    }
}
