package gpufleet.gpuctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gpuctl create and revoke against a real control-api; the API's refusals become exit codes. */
class GpuctlCreateIT {
    static ApiFixture fx;
    static Cli cli;

    @BeforeAll
    static void start(@TempDir Path home) {
        fx = ApiFixture.start();
        cli = Cli.against(fx, home);
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void offeringsAndTenantsAreCreatedAndDuplicatesRefusedWithTheApisReason() {
        Cli.Result offering = cli.run("create", "offering", "seeweb-nvidia-1xa6000", "--gpu-model", Inventories.A6000,
                "--gpu-count", "1", "--cpu", "8000m", "--memory", "32861620Ki");
        assertThat(offering.code()).as(offering.toString()).isZero();
        assertThat(offering.out()).isEqualTo("offering/seeweb-nvidia-1xa6000 created\n");
        assertThat(cli.run("get", "offerings").out()).containsPattern("seeweb-nvidia-1xa6000 +NVIDIA RTX A6000 +1 +8000m +32861620Ki");

        Cli.Result tenant = cli.run("create", "tenant", "acme", "--offering", "seeweb-nvidia-1xa6000");
        assertThat(tenant.code()).as(tenant.toString()).isZero();
        assertThat(tenant.out()).isEqualTo("tenant/acme created\n");
        assertThat(cli.run("get", "tenants").out()).containsPattern("acme +Enabled +seeweb-nvidia-1xa6000 +" + Cli.AGE);

        Cli.Result again = cli.run("create", "tenant", "acme");
        assertThat(again.code()).as(again.toString()).isEqualTo(1);
        assertThat(again.err()).startsWith("error: ").contains("acme");
        Cli.Result bad = cli.run("create", "offering", "Bad_Name", "--gpu-model", "x", "--gpu-count", "1", "--cpu", "1",
                "--memory", "1Gi");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).isEqualTo("error: name 'Bad_Name' must be a DNS label (it becomes a RuntimeClass name)\n");
        assertThat(cli.run("create", "offering", "x", "--gpu-model", "x").code()).as("missing options").isEqualTo(2);
        assertThat(cli.run("create", "tenant", "acme2", "-o", "yaml").out()).contains("name: acme2");
        assertThat(cli.run("create").code()).isEqualTo(2);
    }

    @Test
    void aJoinTokenIsPrintedAloneAndRegistersAHost() throws Exception {
        Cli.Result r = cli.run("create", "join-token", "--ttl", "1h", "--description", "rack 4");
        assertThat(r.code()).as(r.toString()).isZero();
        String token = r.out().trim();
        assertThat(token).startsWith("gfj_");
        Http.Response reg = fx.http.post("/v1/hosts/register", token, Map.of("name", "gpu-new"));
        assertThat(reg.status()).as(reg.toString()).isEqualTo(201);
        JsonNode json = new ObjectMapper().readTree(cli.run("create", "join-token", "-o", "json").out());
        assertThat(json.get("role").asText()).isEqualTo("join");
        assertThat(cli.run("create", "join-token", "--ttl", "90d").code()).as("longer than 30 days: refused").isEqualTo(1);
    }

    @Test
    void aJoinTokenBoundToAHostRegistersThatHostOnce() {
        Cli.Result r = cli.run("create", "join-token", "--host", "gpu-bound", "--description", "bound");
        assertThat(r.code()).as(r.toString()).isZero();
        String token = r.out().trim();
        Http.Response other = fx.http.post("/v1/hosts/register", token, Map.of("name", "gpu-other"));
        assertThat(other.status()).as(other.toString()).isEqualTo(403);
        assertThat(fx.http.post("/v1/hosts/register", token, Map.of("name", "gpu-bound")).status()).isEqualTo(201);
        assertThat(fx.http.post("/v1/hosts/register", token, Map.of("name", "gpu-bound")).status()).isEqualTo(401);
        assertThat(cli.run("get", "tokens", "-o", "wide").out()).containsPattern("join +<none> +bound +UsedUp .* 1/1 +gpu-bound");
        assertThat(cli.run("create", "join-token", "--uses", "0").code()).as("uses out of range: refused").isEqualTo(1);
    }

    @Test
    void rekeyHostRevokesItsCredentialAndPrintsAJoinTokenForItAlone() {
        Host host = fx.seedHost("gpu-rekey");
        Cli.Result r = cli.run("rekey", "host", "gpu-rekey");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.err()).startsWith("host/gpu-rekey re-keyed: 1 credential(s) revoked; register it with this join token");
        String token = r.out().trim();
        assertThat(token).startsWith("gfj_").doesNotContain("\n");
        assertThat(fx.http.post("/v1/hosts/" + host.id() + "/heartbeat", host.token(), null).status()).isEqualTo(401);
        Http.Response again = fx.http.post("/v1/hosts/register", token, Map.of("name", "gpu-rekey"));
        assertThat(again.status()).as(again.toString()).isEqualTo(200);
        assertThat(again.json().get("hostId").asText()).isEqualTo(host.id());
        assertThat(cli.run("describe", "host", "gpu-rekey").out())
                .containsPattern("Warning +Rekeyed +" + Cli.AGE + " +host gpu-rekey re-keyed by operator token")
                .containsPattern("Normal +Reregistered +" + Cli.AGE + " +host gpu-rekey registered again with the join token of its re-key");
        assertThat(cli.run("rekey", "host", "gpu-99").code()).isEqualTo(3);
        assertThat(cli.run("rekey", "tenant", "gpu-rekey").code()).isEqualTo(2);
    }

    @Test
    void aRevokedTokenStopsWorking() {
        String token = cli.run("create", "join-token", "--description", "to revoke").out().trim();
        String line = cli.run("get", "tokens").out().lines().filter(l -> l.contains("to revoke")).findFirst().orElseThrow();
        String id = line.split(" +")[0];
        Cli.Result r = cli.run("revoke", "token", id);
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo("token/" + id + " revoked\n");
        assertThat(cli.run("get", "tokens").out()).containsPattern(id + " +join +<none> +to revoke +Revoked");
        assertThat(fx.http.post("/v1/hosts/register", token, Map.of("name", "gpu-x")).status()).isEqualTo(401);
        assertThat(cli.run("revoke", "token", "00000000-0000-4000-8000-000000000000").code()).isEqualTo(3);
        assertThat(cli.run("revoke", "tenant", id).code()).isEqualTo(2);
    }

    @Test
    void contextsInTheConfigFileChooseTheServerAndTheFlagsAndEnvironmentWin(@TempDir Path home) throws Exception {
        String server = "http://127.0.0.1:" + fx.api.port();
        Cli bare = cli.with("GPUCTL_SERVER", null).with("GPUCTL_TOKEN", null).with("HOME", home.toString());
        assertThat(bare.run("config", "set-context", "dev", "--server", server, "--token", ApiFixture.OPERATOR).out())
                .isEqualTo("Context \"dev\" created.\n");
        Path file = home.resolve(".gpuctl/config");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(bare.run("get", "tenants").code()).as("the first context becomes the current one").isZero();

        String nobody = Cli.refusingServer();
        bare.run("config", "set-context", "broken", "--server", nobody, "--token", "x");
        assertThat(bare.run("config", "use-context", "broken").out()).isEqualTo("Switched to context \"broken\".\n");
        assertThat(bare.run("config", "current-context").out()).isEqualTo("broken\n");
        assertThat(bare.run("get", "tenants").code()).isEqualTo(6);
        assertThat(bare.run("get", "tenants", "--context", "dev").code()).isZero();
        assertThat(bare.with("GPUCTL_SERVER", server).with("GPUCTL_TOKEN", ApiFixture.OPERATOR).run("get", "tenants").code())
                .as("the environment wins over the context").isZero();
        assertThat(bare.run("get", "tenants", "--server", server, "--token", ApiFixture.OPERATOR).code()).isZero();
        assertThat(bare.run("config", "get-contexts").out()).containsPattern("CURRENT +NAME +SERVER\n +dev +" + server
                + "\n\\* +broken +" + nobody + "\n");

        assertThat(bare.run("config", "use-context", "nope").code()).isEqualTo(3);
        assertThat(bare.run("get", "tenants", "--context", "nope").code()).isEqualTo(2);
        Path other = home.resolve("other.yaml");
        Files.writeString(other, "current-context: prod\ncontexts:\n- name: prod\n  server: " + server + "\n  token: "
                + ApiFixture.OPERATOR + "\n");
        assertThat(bare.with("GPUCTL_CONFIG", other.toString()).run("get", "tenants").code()).isZero();
        Files.writeString(other, "contexts: [ {name: ");
        Cli.Result broken = bare.with("GPUCTL_CONFIG", other.toString()).run("get", "tenants");
        assertThat(broken.code()).isEqualTo(2);
        assertThat(broken.err()).startsWith("error: config file " + other + " is not valid YAML");
    }

    @Test
    void completionHelpAndVersion() {
        Cli.Result bash = cli.run("completion", "bash");
        assertThat(bash.code()).isZero();
        assertThat(bash.out()).contains("complete -F").contains("drain").contains("(\"hosts\" \"gpus\" \"tenants\" \"offerings\" \"workloads\" \"routes\" \"tokens\" \"events\")");
        assertThat(cli.run("completion", "fish").code()).isEqualTo(2);
        Cli.Result help = cli.run("--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("Exit codes:").contains("5   timed out (drain)");
        assertThat(cli.run("--version").out()).startsWith("gpuctl ");
        assertThat(cli.run("frobnicate").code()).isEqualTo(2);
    }
}
