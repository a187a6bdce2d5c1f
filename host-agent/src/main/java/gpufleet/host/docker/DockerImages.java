package gpufleet.host.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import gpufleet.host.images.ImageStore.Image;
import gpufleet.host.runtime.RuntimeFailure;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The Docker Engine's images, for {@link gpufleet.host.images.ImageGc}. */
final class DockerImages {
    private static final String UNTAGGED = "<none>:<none>";

    private DockerImages() {}

    static String root(DockerClient client) throws RuntimeFailure {
        try {
            return client.infoCmd().exec().getDockerRootDir();
        } catch (RuntimeException e) {
            throw new RuntimeFailure("ImageGCFailed", "cannot read Docker's root directory: " + DockerRuntime.rootMessage(e));
        }
    }

    static List<Image> images(DockerClient client) throws RuntimeFailure {
        try {
            List<Image> out = new ArrayList<>();
            for (com.github.dockerjava.api.model.Image i : client.listImagesCmd().exec()) {
                List<String> tags = i.getRepoTags() == null ? List.of()
                        : Arrays.stream(i.getRepoTags()).filter(t -> !t.equals(UNTAGGED)).toList();
                out.add(new Image(i.getId(), tags, i.getSize() == null ? 0 : i.getSize()));
            }
            return out;
        } catch (RuntimeException e) {
            throw new RuntimeFailure("ImageGCFailed", "cannot list Docker's images: " + DockerRuntime.rootMessage(e));
        }
    }

    static Set<String> inUse(DockerClient client) throws RuntimeFailure {
        try {
            Set<String> ids = new HashSet<>();
            client.listContainersCmd().withShowAll(true).exec().forEach(c -> ids.add(c.getImageId()));
            return ids;
        } catch (RuntimeException e) {
            throw new RuntimeFailure("ImageGCFailed", "cannot list Docker's containers: " + DockerRuntime.rootMessage(e));
        }
    }

    /** Each tag, then the image itself; without force, so Docker refuses while a container uses it. */
    static void remove(DockerClient client, Image image) throws RuntimeFailure {
        List<String> refs = new ArrayList<>(image.tags());
        refs.add(image.id());
        for (String ref : refs) {
            try {
                client.removeImageCmd(ref).withForce(false).exec();
            } catch (NotFoundException e) {
                // The last tag's removal took the image with it.
            } catch (ConflictException e) {
                throw new RuntimeFailure("ImageInUse", "Docker refused to remove " + ref + ": " + DockerRuntime.rootMessage(e));
            } catch (RuntimeException e) {
                throw new RuntimeFailure("ImageGCFailed", "cannot remove " + ref + ": " + DockerRuntime.rootMessage(e));
            }
        }
    }
}
