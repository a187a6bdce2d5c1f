package gpufleet.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The simulated NVML built by this module's build, and the file that drives it. */
public final class SimNvml {
    /** The real NVML library from Debian's libnvidia-ml1 (no driver here: nvmlInit_v2 answers 9). */
    public static final String REAL_LIBRARY = "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1";

    private SimNvml() {}

    public static String library() {
        Path lib = Path.of("target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath();
        if (!Files.exists(lib)) {
            throw new IllegalStateException(lib + " is missing: the build compiles it (bash nvml-sim/build.sh target/nvml-sim)");
        }
        return lib.toString();
    }

    /** Replaces the simulation's configuration atomically (the library notices on its next call). */
    public static void configure(String content) {
        String env = System.getenv("GPUFLEET_NVML_SIM_CONFIG");
        if (env == null) {
            throw new IllegalStateException("GPUFLEET_NVML_SIM_CONFIG is not set; run the tests through Maven");
        }
        Path file = Path.of(env);
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), "sim", ".conf");
            Files.writeString(tmp, content);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The seed's default: 8 x NVIDIA RTX A6000, no faults. */
    public static void defaults() {
        configure("# default fleet\n");
    }
}
