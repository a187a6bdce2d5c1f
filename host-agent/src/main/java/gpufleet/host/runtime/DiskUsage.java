package gpufleet.host.runtime;

/** What a container has written: the size of its writable layer, as the engine measures it. */
@FunctionalInterface
public interface DiskUsage {
    /** Bytes in the container's writable layer; 0 for one that no longer exists. */
    long writableBytes(String containerId) throws RuntimeFailure;
}
