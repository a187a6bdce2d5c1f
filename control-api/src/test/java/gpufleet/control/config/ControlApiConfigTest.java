package gpufleet.control.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.control.support.ApiFixture;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ControlApiConfigTest {
    static final Path KEY = ApiFixture.SEAL_KEY_FILE;

    @Test
    void defaultsAreUsable() {
        ControlApiConfig c = ControlApiConfig.fromEnvironment(Map.of(SealKey.FILE_VARIABLE, KEY.toString()));
        assertThat(c.heartbeatGrace()).isEqualTo(Duration.ofSeconds(40));
        assertThat(c.listenPort()).isEqualTo(8080);
        assertThat(c.operatorToken()).isNull();
    }

    @Test
    void everyProblemIsNamedInOneMessage() {
        Map<String, String> env = new HashMap<>();
        env.put("GPUFLEET_LISTEN", "8080");
        env.put("GPUFLEET_HEARTBEAT_GRACE", "forty");
        env.put("GPUFLEET_DB_URL", "mysql://x");
        env.put("GPUFLEET_DB_POOL_SIZE", "0");
        env.put("GPUFLEET_OPERATOR_TOKEN", "short");
        assertThatThrownBy(() -> ControlApiConfig.fromEnvironment(env))
                .hasMessageContaining("GPUFLEET_LISTEN: '8080' must be host:port")
                .hasMessageContaining("GPUFLEET_HEARTBEAT_GRACE: 'forty' is not a duration")
                .hasMessageContaining("GPUFLEET_DB_URL: 'mysql://x' is not a PostgreSQL JDBC URL")
                .hasMessageContaining("GPUFLEET_DB_POOL_SIZE: 0 is outside 2..500")
                .hasMessageContaining("GPUFLEET_OPERATOR_TOKEN: must be at least 24 characters")
                .hasMessageContaining("GPUFLEET_SEAL_KEY_FILE: is required");
    }

    @Test
    void withoutASealingKeyItDoesNotStartAndSaysHowToMakeOne() {
        assertThatThrownBy(() -> ControlApiConfig.fromEnvironment(Map.of()))
                .hasMessageContaining("GPUFLEET_SEAL_KEY_FILE: is required: the file holding the operator's sealing key")
                .hasMessageContaining("make one with: head -c 32 /dev/urandom | base64 > seal.key; chmod 600 seal.key");
        assertThatThrownBy(() -> ControlApiConfig.fromEnvironment(Map.of(SealKey.FILE_VARIABLE, "/nonexistent/seal.key")))
                .hasMessageContaining("GPUFLEET_SEAL_KEY_FILE: /nonexistent/seal.key is not a file; make one with: head -c 32");
    }

    @Test
    void lostMustComeAfterNotReady() {
        assertThatThrownBy(() -> ControlApiConfig.fromEnvironment(Map.of("GPUFLEET_LOST_AFTER", "10s", SealKey.FILE_VARIABLE, KEY.toString())))
                .hasMessageContaining("GPUFLEET_LOST_AFTER (10s) must be longer than GPUFLEET_HEARTBEAT_GRACE (40s)");
    }
}
