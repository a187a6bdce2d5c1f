package gpufleet.tenant.pod;

import gpufleet.common.Invalid;
import gpufleet.common.Quantity;
import gpufleet.common.api.OfferingView;
import gpufleet.common.api.Probe;
import gpufleet.common.api.WorkloadSpec;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LifecycleHandler;
import io.fabric8.kubernetes.api.model.Pod;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A pod's init containers and its containers' lifecycle hooks, as the provider's spec carries
 * them. An init container's resources are what it asks; what it leaves out it may use of the
 * whole RuntimeClass, since it runs while no app container does (Kubernetes' effective request
 * is checked against the class on the whole spec). A sidecar runs beside them, so it must say its
 * cpu and memory. No GPU unless a container names some.
 */
final class InitContainerFields {
    private InitContainerFields() {}

    static List<WorkloadSpec.Container> of(Pod pod, OfferingView offering, PodResolver.Resolved resolved) {
        List<Container> inits = pod.getSpec().getInitContainers() == null ? List.of() : pod.getSpec().getInitContainers();
        List<WorkloadSpec.Container> out = new ArrayList<>();
        for (int i = 0; i < inits.size(); i++) {
            Container c = inits.get(i);
            String at = "spec.initContainers[" + i + "]";
            Map<String, io.fabric8.kubernetes.api.model.Quantity> limits = PodTranslator.merged(c);
            Integer gpus = PodTranslator.gpus(c);
            boolean sidecar = "Always".equals(c.getRestartPolicy());
            // A sidecar runs beside the app containers, which share what the RuntimeClass gives: it says what it takes.
            Invalid.check(!sidecar || limits.containsKey("cpu") && limits.containsKey("memory"), at + ".resources",
                    at + ".resources: sidecar \"" + c.getName() + "\" needs cpu and memory in its resources: it runs beside "
                            + "the app containers, which share the RuntimeClass's");
            String cpu = limits.containsKey("cpu") ? Quantity.cpuMillis(limits.get("cpu").toString(), at + ".resources.cpu") + "m"
                    : offering.cpu();
            String memory = limits.containsKey("memory") ? Long.toString(Quantity.bytes(limits.get("memory").toString(),
                    at + ".resources.memory")) : offering.memory();
            List<WorkloadSpec.EnvVar> env = resolved.env().getOrDefault(c.getName(), List.of());
            Map<String, String> vars = Expansion.variables(env);
            List<WorkloadSpec.Port> ports = new ArrayList<>();
            if (c.getPorts() != null) {
                c.getPorts().forEach(p -> ports.add(new WorkloadSpec.Port(p.getName(), p.getContainerPort(), p.getProtocol())));
            }
            out.add(new WorkloadSpec.Container(c.getName(), c.getImage(), c.getImagePullPolicy(), Expansion.expand(c.getCommand(), vars),
                    Expansion.expand(c.getArgs(), vars), env, ports,
                    new WorkloadSpec.Resources(gpus == null ? 0 : gpus, cpu, memory, PodTranslator.ephemeralStorage(c)),
                    resolved.files().getOrDefault(c.getName(), List.of()), c.getWorkingDir(), c.getTty(), c.getStdin(),
                    c.getRestartPolicy(), PodSettingsFields.containerSecurity(c), PodSettingsFields.emptyDirMounts(pod.getSpec(), c),
                    ProbeFields.of(c, c.getLivenessProbe(), at + ".livenessProbe"),
                    ProbeFields.of(c, c.getReadinessProbe(), at + ".readinessProbe"),
                    ProbeFields.of(c, c.getStartupProbe(), at + ".startupProbe"), lifecycle(c)));
        }
        return out;
    }

    /**
     * What the pod's sidecars take of {@code resource} (cpu in millicores, memory in bytes): the
     * app containers that say nothing share what the RuntimeClass leaves after them. A sidecar's
     * unreadable or missing value counts 0 here; building the spec refuses it, naming the field.
     */
    static long sidecars(Pod pod, String resource) {
        long sum = 0;
        for (Container c : pod.getSpec().getInitContainers() == null ? List.<Container>of() : pod.getSpec().getInitContainers()) {
            var q = PodTranslator.merged(c).get(resource);
            if ("Always".equals(c.getRestartPolicy()) && q != null) {
                try {
                    sum += resource.equals("cpu") ? Quantity.cpuMillis(q.toString(), "cpu") : Quantity.bytes(q.toString(), resource);
                } catch (Invalid e) {
                    // Refused with its field when the spec is built.
                }
            }
        }
        return sum;
    }

    /** The container's postStart and preStop; null without any. Named ports are resolved against the container's own. */
    static Probe.Lifecycle lifecycle(Container c) {
        if (c.getLifecycle() == null || c.getLifecycle().getPostStart() == null && c.getLifecycle().getPreStop() == null) {
            return null;
        }
        return new Probe.Lifecycle(handler(c, c.getLifecycle().getPostStart(), "lifecycle.postStart"),
                handler(c, c.getLifecycle().getPreStop(), "lifecycle.preStop"));
    }

    private static Probe.Handler handler(Container c, LifecycleHandler h, String field) {
        if (h == null) {
            return null;
        }
        if (h.getExec() != null) {
            return new Probe.Handler(h.getExec().getCommand() == null ? List.of() : h.getExec().getCommand(), null, null, null, null);
        }
        if (h.getHttpGet() != null) {
            var get = h.getHttpGet();
            Invalid.check(get.getHost() == null || get.getHost().isEmpty(), field + ".httpGet.host",
                    field + ".httpGet.host: the hook reaches the pod's own address only");
            List<Probe.Header> headers = get.getHttpHeaders() == null ? List.of()
                    : get.getHttpHeaders().stream().map(x -> new Probe.Header(x.getName(), x.getValue())).toList();
            return new Probe.Handler(null, new Probe.HttpGet(get.getPath(), port(c, get.getPort(), field + ".httpGet.port"),
                    get.getScheme(), headers), null, null, null);
        }
        if (h.getTcpSocket() != null) {
            return new Probe.Handler(null, null, port(c, h.getTcpSocket().getPort(), field + ".tcpSocket.port"), null, null);
        }
        if (h.getSleep() != null) {
            return new Probe.Handler(null, null, null, null, h.getSleep().getSeconds() == null ? null : h.getSleep().getSeconds().intValue());
        }
        throw new Invalid(field, field + " sets no handler");
    }

    private static Integer port(Container c, IntOrString port, String field) {
        Invalid.check(port != null, field, field + " is required");
        if (port.getIntVal() != null) {
            return port.getIntVal();
        }
        return (c.getPorts() == null ? List.<ContainerPort>of() : c.getPorts()).stream()
                .filter(p -> port.getStrVal().equals(p.getName())).map(ContainerPort::getContainerPort)
                .findFirst().orElseThrow(() -> new Invalid(field, field + ": container " + c.getName() + " has no port named '"
                        + port.getStrVal() + "'"));
    }
}
