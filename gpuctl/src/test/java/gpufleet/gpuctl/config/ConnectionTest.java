package gpufleet.gpuctl.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.gpuctl.Failure;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConnectionTest {
    @TempDir
    Path dir;

    ConfigFile config() {
        ConfigFile c = ConfigFile.load(dir.resolve("config"));
        c.setContext(new ConfigFile.Context("prod", "https://api.example.net", "gfo_prod"));
        c.setContext(new ConfigFile.Context("dev", "http://127.0.0.1:8080/", "gfo_dev"));
        return c;
    }

    @Test
    void flagsWinOverTheEnvironmentWhichWinsOverTheContext() {
        Map<String, String> env = Map.of("GPUCTL_SERVER", "http://env:1", "GPUCTL_TOKEN", "gfo_env");
        assertThat(Connection.resolve(null, null, null, config(), Map.of()))
                .isEqualTo(new Connection(URI.create("https://api.example.net/"), "gfo_prod"));
        assertThat(Connection.resolve(null, null, "dev", config(), Map.of()))
                .isEqualTo(new Connection(URI.create("http://127.0.0.1:8080/"), "gfo_dev"));
        assertThat(Connection.resolve(null, null, null, config(), env)).isEqualTo(new Connection(URI.create("http://env:1/"), "gfo_env"));
        assertThat(Connection.resolve("http://flag:2", null, null, config(), env))
                .isEqualTo(new Connection(URI.create("http://flag:2/"), "gfo_env"));
    }

    @Test
    void whatIsMissingOrMalformedIsNamed() {
        ConfigFile empty = ConfigFile.load(dir.resolve("none"));
        assertThatThrownBy(() -> Connection.resolve(null, "t", null, empty, Map.of())).isInstanceOf(Failure.class)
                .hasMessageContaining("no control-api to talk to").extracting(e -> ((Failure) e).exitCode()).isEqualTo(2);
        assertThatThrownBy(() -> Connection.resolve("http://a:1", null, null, empty, Map.of()))
                .hasMessageContaining("no operator token").extracting(e -> ((Failure) e).exitCode()).isEqualTo(4);
        assertThatThrownBy(() -> Connection.resolve("ftp://a", "t", null, empty, Map.of())).hasMessageContaining("is not a URL");
        assertThatThrownBy(() -> Connection.resolve(null, null, "staging", config(), Map.of()))
                .hasMessageContaining("context staging is not in");
    }

    @Test
    void theConfigFileRoundTripsAndTheFirstContextBecomesCurrent() {
        ConfigFile c = config();
        c.setContext(new ConfigFile.Context("prod", null, "gfo_rotated"));
        c.save();
        ConfigFile again = ConfigFile.load(dir.resolve("config"));
        assertThat(again.currentContext()).contains("prod");
        assertThat(again.context("prod")).contains(new ConfigFile.Context("prod", "https://api.example.net", "gfo_rotated"));
        assertThat(again.contexts()).hasSize(2);
        assertThat(Connection.configPath(null, Map.of("HOME", "/home/op"))).isEqualTo(Path.of("/home/op/.gpuctl/config"));
        assertThat(Connection.configPath(null, Map.of("HOME", "/home/op", "GPUCTL_CONFIG", "/etc/gpuctl"))).isEqualTo(Path.of("/etc/gpuctl"));
        assertThat(Connection.configPath("/x", Map.of("GPUCTL_CONFIG", "/etc/gpuctl"))).isEqualTo(Path.of("/x"));
    }
}
