package gpufleet.host.workload;

import gpufleet.common.ContainerLimits;
import gpufleet.common.Invalid;
import gpufleet.common.Quantity;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.agent.HostFacts;

/**
 * The host's own check of a pod's cpu and memory, made before anything of the pod is created.
 * The control-api checks the same spec against its offering, but the host trusts no spec it
 * receives: every number is recomputed exactly here, and a container may not ask more than this
 * machine has (Docker would take a memory limit above the machine's as "no limit").
 */
final class HostLimits {
    static final long NANOS_PER_MILLI = 1_000_000L;

    private final long cpuMillis;
    private final long memoryBytes;

    HostLimits(long cpuMillis, long memoryBytes) {
        this.cpuMillis = cpuMillis;
        this.memoryBytes = memoryBytes;
    }

    static HostLimits ofThisMachine() {
        return new HostLimits(HostFacts.cpuMillis(), HostFacts.memoryBytes());
    }

    /** Null when the pod fits this host; otherwise why not, naming the field. */
    String refusal(WorkloadSpec spec) {
        long cpu = 0;
        long memory = 0;
        try {
            for (int i = 0; i < spec.containers().size(); i++) {
                WorkloadSpec.Resources r = spec.containers().get(i).resources();
                String field = "containers[" + i + "].resources.";
                long millis = Quantity.cpuMillis(r.cpu(), field + "cpu");
                long bytes = Quantity.bytes(r.memory(), field + "memory");
                if (millis <= 0 || millis > cpuMillis) {
                    return field + "cpu: '" + r.cpu() + "' is not between 1m and the " + Quantity.cpu(cpuMillis) + " cpu this host has";
                }
                if (bytes < ContainerLimits.MIN_MEMORY_BYTES || bytes > memoryBytes) {
                    return field + "memory: '" + r.memory() + "' is not between 6Mi and the " + Quantity.memory(memoryBytes)
                            + " this host has";
                }
                Math.multiplyExact(millis, NANOS_PER_MILLI);
                cpu = Math.addExact(cpu, millis);
                memory = Math.addExact(memory, bytes);
            }
        } catch (Invalid e) {
            return e.getMessage();
        } catch (ArithmeticException e) {
            return "resources: the pod's cpu or memory does not fit a 64-bit number";
        }
        if (cpu > cpuMillis || memory > memoryBytes) {
            return "resources: the pod asks " + Quantity.cpu(cpu) + " cpu and " + Quantity.memory(memory) + " memory, more than the "
                    + Quantity.cpu(cpuMillis) + " cpu and " + Quantity.memory(memoryBytes) + " this host has";
        }
        return null;
    }

    /** Docker's NanoCpus for a container; exact (throws rather than wrap), for a spec {@link #refusal} passed. */
    static long nanoCpus(WorkloadSpec.Container c) {
        // Raised to the kernel's 1 ms quota as the kubelet does: below it Docker's container never starts.
        return ContainerLimits.nanoCpus(c.resources().cpuMillis());
    }
}
