package gpufleet.host;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** `host-agent inventory` as an operator runs it on a box. */
class InventoryCommandIT {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String library, boolean json) {
        return InventoryCommand.run(library, json, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void aTableOfTheGpus() {
        SimNvml.configure("fault gpu 6 lost\n");
        assertThat(run(SimNvml.library(), false)).isZero();
        String table = out.toString(StandardCharsets.UTF_8);
        // A GPU lost before it was ever identified has no UUID to key it by: it is a note, not a row.
        assertThat(table).startsWith("Driver 550.127.05, CUDA 12.4, 7 GPU(s)");
        assertThat(table).contains("INDEX UUID").contains("00000000:18:00.0").contains("48.0GiB");
        assertThat(table.lines().filter(l -> l.contains("NVIDIA RTX A6000") && l.endsWith(" ok"))).hasSize(7);
        assertThat(table).contains("note: GPU at index 6 unreadable and never identified").contains("GPU is lost");
        SimNvml.defaults();
    }

    @Test
    void jsonForMachines() throws Exception {
        SimNvml.defaults();
        assertThat(run(SimNvml.library(), true)).isZero();
        JsonNode doc = Json.mapper().readTree(out.toByteArray());
        assertThat(doc.get("gpus")).hasSize(8);
        assertThat(doc.at("/gpus/0/name").asText()).isEqualTo("NVIDIA RTX A6000");
        assertThat(doc.at("/gpus/0/numaNode").asInt()).isZero();
    }

    @Test
    void noDriverIsSaidPlainlyWithExitCode1() {
        assertThat(run(SimNvml.REAL_LIBRARY, false)).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .isEqualTo("host-agent: NVML unavailable (DriverNotLoaded): nvmlInit_v2: Driver Not Loaded (NVML error 9)\n");
    }
}
