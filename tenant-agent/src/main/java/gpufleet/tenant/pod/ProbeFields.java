package gpufleet.tenant.pod;

import gpufleet.common.Invalid;
import gpufleet.common.api.Probe;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import java.util.List;

/**
 * A container's probes as the provider takes them: named ports resolved against the container's
 * own ports here (the host sees numbers only), as the kubelet resolves them. A port name the
 * container does not declare is refused naming the field: the kubelet would fail that probe on
 * every try. A probe's host never reaches this class: {@link PodFields} refuses it.
 */
final class ProbeFields {
    private ProbeFields() {}

    /** {@code field}: where the probe sits, for errors ("livenessProbe"); null for a container without it. */
    static Probe of(Container c, io.fabric8.kubernetes.api.model.Probe p, String field) {
        if (p == null) {
            return null;
        }
        Probe.Handler handler;
        if (p.getExec() != null) {
            handler = new Probe.Handler(p.getExec().getCommand() == null ? List.of() : p.getExec().getCommand(), null, null, null, null);
        } else if (p.getHttpGet() != null) {
            var get = p.getHttpGet();
            List<Probe.Header> headers = get.getHttpHeaders() == null ? List.of()
                    : get.getHttpHeaders().stream().map(h -> new Probe.Header(h.getName(), h.getValue())).toList();
            handler = new Probe.Handler(null, new Probe.HttpGet(get.getPath(), port(c, get.getPort(), field + ".httpGet.port"),
                    get.getScheme(), headers), null, null, null);
        } else if (p.getTcpSocket() != null) {
            handler = new Probe.Handler(null, null, port(c, p.getTcpSocket().getPort(), field + ".tcpSocket.port"), null, null);
        } else if (p.getGrpc() != null) {
            // A number only: Kubernetes takes no port name here.
            handler = new Probe.Handler(null, null, null, new Probe.Grpc(p.getGrpc().getPort(), p.getGrpc().getService()), null);
        } else {
            throw new Invalid(field, field + " must set one of exec, httpGet, tcpSocket and grpc");
        }
        return new Probe(handler, p.getInitialDelaySeconds(), p.getPeriodSeconds(), p.getTimeoutSeconds(), p.getSuccessThreshold(),
                p.getFailureThreshold(), p.getTerminationGracePeriodSeconds());
    }

    /** A port number, or the number of the container's port of that name. */
    static Integer port(Container c, IntOrString port, String field) {
        if (port == null) {
            throw new Invalid(field, field + " is required");
        }
        if (port.getIntVal() != null) {
            return port.getIntVal();
        }
        String name = port.getStrVal();
        List<ContainerPort> ports = c.getPorts() == null ? List.of() : c.getPorts();
        return ports.stream().filter(x -> name != null && name.equals(x.getName())).map(ContainerPort::getContainerPort).findFirst()
                .orElseThrow(() -> new Invalid(field, field + ": container " + c.getName() + " has no port named '" + name + "'"));
    }
}
