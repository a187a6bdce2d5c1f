package gpufleet.host.images;

import gpufleet.host.runtime.RuntimeFailure;
import java.util.List;
import java.util.Set;

/**
 * The images a container engine holds, for garbage collection: an optional ability of a
 * {@link gpufleet.host.runtime.ContainerRuntime} (the Docker adapter has it).
 */
public interface ImageStore {
    /** An image: its ID ("sha256:…"), the names it is tagged with (none for a dangling one), its size. */
    record Image(String id, List<String> tags, long sizeBytes) {}

    /** The directory the engine keeps images under (Docker's DockerRootDir): its filesystem is the one measured. */
    String imageRoot() throws RuntimeFailure;

    List<Image> images() throws RuntimeFailure;

    /** The IDs of the images of every container, running or stopped, whoever made it. */
    Set<String> imagesInUse() throws RuntimeFailure;

    /**
     * Removes the image (each of its tags, then the image), never forcefully: the engine refuses
     * to remove one a container uses.
     */
    void remove(Image image) throws RuntimeFailure;
}
