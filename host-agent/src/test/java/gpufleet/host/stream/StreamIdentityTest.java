package gpufleet.host.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamIdentityTest {
    @TempDir
    Path state;

    @Test
    void theKeyPairIsMadeOnceKeptPrivateAndTheSameAfterARestart() throws Exception {
        StreamIdentity first = StreamIdentity.loadOrCreate(state, "gpu-07");
        StreamIdentity again = StreamIdentity.loadOrCreate(state, "gpu-07");
        assertThat(again.certificateBase64()).as("an agent restart reports the pinned certificate").isEqualTo(first.certificateBase64());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve(StreamIdentity.KEY_FILE))))
                .isEqualTo("rw-------");
        assertThat(StreamIdentity.loadOrCreate(Files.createTempDirectory(state, "other"), "gpu-07").certificateBase64())
                .as("another host (or a reinstalled one) has its own").isNotEqualTo(first.certificateBase64());
        assertThat(first.serverContext().getProtocol()).isEqualTo("TLSv1.3");
    }
}
