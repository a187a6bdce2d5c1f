package gpufleet.tenant.pod;

import gpufleet.common.ContainerLimits;
import gpufleet.common.Invalid;
import gpufleet.common.Quantity;
import gpufleet.common.api.OfferingView;
import gpufleet.common.api.WorkloadSpec;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns a pod bound to the virtual node into the workload the provider runs: resources summed
 * against the RuntimeClass, what the pod left out filled from it (the RuntimeClass default for
 * GPUs, an even share of the class's cpu and memory), or a refusal that names the numbers.
 */
public final class PodTranslator {
    public static final String GPU = "nvidia.com/gpu";

    private PodTranslator() {}

    public sealed interface Result permits Ok, Refused {}

    public record Ok(WorkloadSpec spec) implements Result {}

    /** The pod cannot run: a CamelCase reason and a message a person can act on. */
    public record Refused(String reason, String message) implements Result {}

    public static Result translate(Pod pod, OfferingView offering, PodResolver.Resolved resolved) {
        List<Container> containers = pod.getSpec().getContainers();
        int n = containers.size();
        Integer[] gpus = new Integer[n];
        Long[] cpu = new Long[n];
        Long[] mem = new Long[n];
        String[] disk = new String[n];
        for (int i = 0; i < n; i++) {
            try {
                Map<String, io.fabric8.kubernetes.api.model.Quantity> limits = merged(containers.get(i));
                gpus[i] = gpus(containers.get(i));
                cpu[i] = limits.containsKey("cpu") ? Quantity.cpuMillis(limits.get("cpu").toString(), "cpu") : null;
                mem[i] = limits.containsKey("memory") ? Quantity.bytes(limits.get("memory").toString(), "memory") : null;
                disk[i] = ephemeralStorage(containers.get(i));
                if (disk[i] != null) {
                    Quantity.bytes(disk[i], "ephemeral-storage");
                }
                Invalid.check(mem[i] == null || mem[i] >= ContainerLimits.MIN_MEMORY_BYTES, "memory", "memory: '"
                        + limits.get("memory") + "' is less than 6Mi, the least memory Docker gives a container");
            } catch (Invalid e) {
                return new Refused("InvalidResources", "container \"" + containers.get(i).getName() + "\": " + e.getMessage());
            }
        }
        boolean anyGpu = false;
        for (Integer g : gpus) {
            anyGpu |= g != null;
        }
        for (int i = 0; i < n; i++) {
            if (gpus[i] == null) {
                gpus[i] = !anyGpu && i == 0 ? Integer.parseInt(offering.annotations().get("limits.k8s.gpu/default")) : 0;
            }
        }
        fill(cpu, Quantity.cpuMillis(offering.cpu(), "cpu") - InitContainerFields.sidecars(pod, "cpu"));
        fill(mem, Quantity.bytes(offering.memory(), "memory") - InitContainerFields.sidecars(pod, "memory"));
        long totalGpus = sum(gpus);
        long totalCpu = sum(cpu);
        long totalMem = sum(mem);
        long maxCpu = Quantity.cpuMillis(offering.cpu(), "cpu");
        long maxMem = Quantity.bytes(offering.memory(), "memory");
        if (totalGpus > offering.gpuCount() || totalCpu > maxCpu || totalMem > maxMem || totalGpus < 1
                || cpuOrMemMissing(cpu, mem)) {
            return new Refused("OverRuntimeClassLimits", "pod asks for " + totalGpus + " GPU(s), " + Quantity.cpu(totalCpu)
                    + " cpu and " + Quantity.memory(totalMem) + " memory; RuntimeClass " + offering.name() + " allows 1 to "
                    + offering.gpuCount() + " GPU(s), at most " + offering.cpu() + " cpu and " + offering.memory() + " memory");
        }
        try {
            WorkloadSpec spec = spec(pod, offering, resolved, gpus, cpu, mem, disk);
            // Init containers count by Kubernetes' effective request: the widest of them, or the app containers with the sidecars.
            if (spec.gpus() > offering.gpuCount() || spec.cpuMillis() > maxCpu || spec.memoryBytes() > maxMem) {
                return new Refused("OverRuntimeClassLimits", "pod asks for " + spec.gpus() + " GPU(s), " + Quantity.cpu(spec.cpuMillis())
                        + " cpu and " + Quantity.memory(spec.memoryBytes()) + " memory with its init containers; RuntimeClass "
                        + offering.name() + " allows at most " + offering.gpuCount() + " GPU(s), " + offering.cpu() + " cpu and "
                        + offering.memory() + " memory");
            }
            return new Ok(spec);
        } catch (Invalid e) {
            // A rule of the provider's spec (a port, a name, a file path): the pod waits with it, as refused.
            return new Refused("InvalidPodSpec", e.getMessage());
        }
    }

    private static WorkloadSpec spec(Pod pod, OfferingView offering, PodResolver.Resolved resolved, Integer[] gpus, Long[] cpu,
                                     Long[] mem, String[] disk) {
        List<Container> containers = pod.getSpec().getContainers();
        List<WorkloadSpec.Container> out = new ArrayList<>();
        for (int i = 0; i < containers.size(); i++) {
            Container c = containers.get(i);
            List<WorkloadSpec.EnvVar> env = resolved.env().getOrDefault(c.getName(), List.of());
            List<WorkloadSpec.Port> ports = new ArrayList<>();
            if (c.getPorts() != null) {
                c.getPorts().forEach(p -> ports.add(new WorkloadSpec.Port(p.getName(), p.getContainerPort(), p.getProtocol())));
            }
            Map<String, String> vars = Expansion.variables(env);
            out.add(new WorkloadSpec.Container(c.getName(), c.getImage(), c.getImagePullPolicy(), Expansion.expand(c.getCommand(), vars),
                    Expansion.expand(c.getArgs(), vars), env,
                    ports, new WorkloadSpec.Resources(gpus[i], cpu[i] + "m", Long.toString(mem[i]), disk[i]),
                    resolved.files().getOrDefault(c.getName(), List.of()),
                    c.getWorkingDir(), c.getTty(), c.getStdin(), null, PodSettingsFields.containerSecurity(c),
                    PodSettingsFields.emptyDirMounts(pod.getSpec(), c), ProbeFields.of(c, c.getLivenessProbe(), "livenessProbe"),
                    ProbeFields.of(c, c.getReadinessProbe(), "readinessProbe"), ProbeFields.of(c, c.getStartupProbe(), "startupProbe"),
                    InitContainerFields.lifecycle(c)));
        }
        PodSpec podSpec = pod.getSpec();
        Long grace = podSpec.getTerminationGracePeriodSeconds();
        return new WorkloadSpec(pod.getMetadata().getUid(), pod.getMetadata().getNamespace(), pod.getMetadata().getName(),
                offering.name(), out, podSpec.getRestartPolicy(), grace, resolved.pullSecrets(),
                InitContainerFields.of(pod, offering, resolved),
                PodSettingsFields.podSecurity(podSpec), PodSettingsFields.emptyDirs(podSpec), podSpec.getHostname(),
                podSpec.getSubdomain(), PodSettingsFields.hostAliases(podSpec), podSpec.getActiveDeadlineSeconds(), null);
    }

    /**
     * The container's GPUs, by the API server's rule for extended resources: a whole number, in
     * limits; requests, when given, equal to limits. Null when the container names none.
     */
    static Integer gpus(Container c) {
        var limits = c.getResources() == null ? null : c.getResources().getLimits();
        var requests = c.getResources() == null ? null : c.getResources().getRequests();
        var limit = limits == null ? null : limits.get(GPU);
        var request = requests == null ? null : requests.get(GPU);
        if (limit == null) {
            Invalid.check(request == null, GPU, GPU + " is in requests only: as the API server requires for extended resources, "
                    + "set it in limits (requests may be left out or must equal limits)");
            return null;
        }
        long count = Quantity.whole(limit.toString(), GPU);
        Invalid.check(request == null || Quantity.whole(request.toString(), GPU) == count, GPU, GPU + " requests ("
                + request + ") must equal its limits (" + limit + "), as the API server requires for extended resources");
        Invalid.check(count <= 16, GPU, GPU + ": " + count + " is more than a pod may ask (at most 16)");
        return (int) count;
    }

    /** The container's ephemeral-storage limit as the host enforces it (evicting past it); null: the host's default. */
    static String ephemeralStorage(Container c) {
        if (c.getResources() == null || c.getResources().getLimits() == null) {
            return null;
        }
        io.fabric8.kubernetes.api.model.Quantity q = c.getResources().getLimits().get("ephemeral-storage");
        return q == null ? null : q.toString();
    }

    static Map<String, io.fabric8.kubernetes.api.model.Quantity> merged(Container c) {
        Map<String, io.fabric8.kubernetes.api.model.Quantity> m = new java.util.HashMap<>();
        if (c.getResources() != null) {
            if (c.getResources().getRequests() != null) {
                m.putAll(c.getResources().getRequests());
            }
            if (c.getResources().getLimits() != null) {
                m.putAll(c.getResources().getLimits()); // limits win: they are what the container may use
            }
        }
        return m;
    }

    /** Containers that said nothing share what the class leaves, evenly. */
    private static void fill(Long[] values, long classTotal) {
        long given = 0;
        int missing = 0;
        for (Long v : values) {
            if (v == null) {
                missing++;
            } else {
                given += v;
            }
        }
        long share = missing == 0 ? 0 : (classTotal - given) / missing;
        for (int i = 0; i < values.length; i++) {
            if (values[i] == null) {
                values[i] = share;
            }
        }
    }

    private static boolean cpuOrMemMissing(Long[] cpu, Long[] mem) {
        for (int i = 0; i < cpu.length; i++) {
            if (cpu[i] <= 0 || mem[i] < ContainerLimits.MIN_MEMORY_BYTES) {
                return true;
            }
        }
        return false;
    }

    private static long sum(Number[] values) {
        long s = 0;
        for (Number v : values) {
            s += v.longValue();
        }
        return s;
    }
}
