package gpufleet.host.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Network;
import gpufleet.host.runtime.RuntimeFailure;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The network calls behind {@link DockerRuntime}: found by label, used and removed by id. */
final class NetworkOps {
    private NetworkOps() {}

    static List<gpufleet.host.runtime.Network> list(DockerClient client, Map<String, String> labels) throws RuntimeFailure {
        if (labels.isEmpty()) {
            throw new IllegalArgumentException("a network listing names the labels it wants");
        }
        List<String> filter = labels.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
        try {
            List<gpufleet.host.runtime.Network> out = new ArrayList<>();
            for (Network n : client.listNetworksCmd().withFilter("label", filter).exec()) {
                try {
                    // The listing leaves the attached containers out; only an inspect counts them.
                    Network full = client.inspectNetworkCmd().withNetworkId(n.getId()).exec();
                    int attached = full.getContainers() == null ? 0 : full.getContainers().size();
                    out.add(new gpufleet.host.runtime.Network(n.getId(), n.getName(), n.getLabels(), n.getOptions(),
                            n.getCreated() == null ? null : n.getCreated().toInstant(), attached));
                } catch (NotFoundException gone) {
                    // Removed between the listing and the inspect.
                }
            }
            return out;
        } catch (RuntimeException e) {
            throw new RuntimeFailure("RuntimeUnavailable", DockerRuntime.rootMessage(e));
        }
    }

    /**
     * No duplicate check by name: a spare of the same name may be there, waiting for its pods to
     * end, and the caller has looked by label already. What must be unique is the Linux bridge,
     * and the engine refuses a second network with the same bridge name.
     */
    static String create(DockerClient client, String name, Map<String, String> labels, Map<String, String> options)
            throws RuntimeFailure {
        try {
            return client.createNetworkCmd().withName(name).withDriver("bridge").withLabels(labels).withOptions(options)
                    .withCheckDuplicate(false).exec().getId();
        } catch (RuntimeException e) {
            throw new RuntimeFailure("CreateContainerError", "cannot create network " + name + ": " + DockerRuntime.rootMessage(e));
        }
    }

    static void remove(DockerClient client, String id) throws RuntimeFailure {
        try {
            client.removeNetworkCmd(id).exec();
        } catch (NotFoundException gone) {
            // Already removed: what was asked.
        } catch (RuntimeException e) {
            throw new RuntimeFailure("RuntimeUnavailable", "cannot remove network " + id + ": " + DockerRuntime.rootMessage(e));
        }
    }
}
