package gpufleet.host.images;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;

/** How full the filesystem holding a directory is. Tests set it; the agent asks the filesystem. */
@FunctionalInterface
public interface DiskUsage {
    record Usage(long capacityBytes, long availableBytes) {
        /** Percent used, rounded up, as the kubelet computes it (100 minus the percent available, rounded down). */
        public int percent() {
            return capacityBytes <= 0 ? 0 : (int) (100 - availableBytes * 100 / capacityBytes);
        }
    }

    Usage of(String directory) throws IOException;

    /** The filesystem's own figures: what statfs says of the directory's mount. */
    DiskUsage FILESYSTEM = directory -> {
        FileStore store = Files.getFileStore(Path.of(directory));
        return new Usage(store.getTotalSpace(), store.getUsableSpace());
    };
}
