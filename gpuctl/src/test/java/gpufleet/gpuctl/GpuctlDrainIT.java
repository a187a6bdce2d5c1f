package gpufleet.gpuctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gpuctl drain: cordon, evict (pods fail with reason Evicted), wait for the host to stop them, or time out. */
class GpuctlDrainIT {
    ApiFixture fx;
    Fleet fleet;
    Cli cli;
    Host host;

    @BeforeEach
    void start(@TempDir Path home) {
        fx = ApiFixture.start();
        fleet = new Fleet(fx);
        host = fx.seedHost("gpu-07");
        cli = Cli.against(fx, home);
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void drainEvictsEveryWorkloadAndWaitsUntilTheHostHasStoppedThem() throws Exception {
        JsonNode a = fleet.pod("uid-a");
        JsonNode b = fleet.pod("uid-b");
        fleet.running(host, a, 1);
        fleet.running(host, b, 1);

        CompletableFuture<Cli.Result> drain = CompletableFuture.supplyAsync(
                () -> cli.run("drain", "gpu-07", "--timeout", "5m", "--poll-interval", "100ms"));
        await().atMost(Duration.ofSeconds(60)).until(() -> fleet.workload("uid-a").path("deletionRequested").asBoolean()
                && fleet.workload("uid-b").path("deletionRequested").asBoolean());
        JsonNode evicted = fleet.workload("uid-a");
        assertThat(evicted.get("phase").asText()).isEqualTo("failed");
        assertThat(evicted.get("reason").asText()).isEqualTo("Evicted");
        assertThat(evicted.get("message").asText()).isEqualTo("host gpu-07 was drained by an operator");
        fleet.running(host, a, 2);
        assertThat(fleet.workload("uid-a").get("phase").asText()).as("a report while stopping keeps the eviction").isEqualTo("failed");
        assertThat(drain).isNotDone();

        fleet.gone(host, a, 3);
        fleet.gone(host, b, 2);
        Cli.Result r = drain.get(2, TimeUnit.MINUTES);
        assertThat(r.code()).as(r.toString()).isZero();
        String idA = a.get("id").asText();
        String idB = b.get("id").asText();
        assertThat(r.out()).startsWith("host/gpu-07 cordoned\n")
                .contains("evicting workload " + idA + " (skg00000 default/nvidia-smi)\n")
                .contains("evicting workload " + idB + " (skg00000 default/nvidia-smi)\n")
                .contains("waiting for 2 workload(s) to stop: ")
                .contains("workload " + idA + " stopped\n", "workload " + idB + " stopped\n")
                .endsWith("host/gpu-07 drained\n");

        JsonNode after = fleet.workload("uid-a");
        assertThat(after.get("phase").asText()).as("the pod stays Failed/Evicted once its GPUs are free").isEqualTo("failed");
        assertThat(after.get("reason").asText()).isEqualTo("Evicted");
        assertThat(cli.run("get", "gpus", "--host", "gpu-07", "--state", "allocated").err()).isEqualTo("No gpus found.\n");
        assertThat(cli.run("get", "hosts").out()).containsPattern("gpu-07 +cordoned");
        assertThat(cli.run("get", "workloads", "--deleted").out()).containsPattern(idA + " +skg00000 +default/nvidia-smi +Evicted");

        Http.Response deleted = fx.http.delete("/v1/tenants/" + Fleet.TENANT + "/workloads/uid-a", fleet.tenantToken);
        assertThat(deleted.status()).as("the tenant deletes the evicted pod: gone at once").isEqualTo(200);
        assertThat(deleted.json().get("phase").asText()).isEqualTo("deleted");
    }

    @Test
    void aDrainThatOutlastsItsTimeoutExitsWith5AndCanBeRepeated() {
        JsonNode a = fleet.pod("uid-a");
        Cli.Result r = cli.run("drain", "gpu-07", "--timeout", "1s", "--poll-interval", "200ms");
        assertThat(r.code()).as(r.toString()).isEqualTo(5);
        String id = a.get("id").asText();
        assertThat(r.out()).contains("evicting workload " + id).contains("waiting for 1 workload(s) to stop: " + id);
        assertThat(r.err()).isEqualTo("error: timed out after 1s: 1 workload(s) on host gpu-07 have not stopped (" + id
                + "); the host frees their GPUs once it confirms their containers are gone\n");

        Cli.Result again = cli.run("drain", "gpu-07", "--no-wait");
        assertThat(again.code()).as(again.toString()).isZero();
        assertThat(again.out()).isEqualTo("host/gpu-07 cordoned\nhost/gpu-07: 1 workload(s) still stopping\n");
    }

    @Test
    void anEmptyHostIsDrainedAtOnce() {
        Cli.Result r = cli.run("drain", "gpu-07");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo("host/gpu-07 cordoned\nhost/gpu-07 drained\n");
    }

    @Test
    void drainErrors() {
        Cli.Result unknown = cli.run("drain", "gpu-99");
        assertThat(unknown.code()).isEqualTo(3);
        assertThat(unknown.err()).isEqualTo("error: host gpu-99 not found\n");
        assertThat(cli.run("drain", "gpu-07", "--token", fleet.tenantToken).code()).isEqualTo(4);
        Cli.Result timeout = cli.run("drain", "gpu-07", "--timeout", "soon");
        assertThat(timeout.code()).isEqualTo(2);
        assertThat(timeout.err()).contains("'soon' is not a duration such as 30s, 5m or 1h30m");
        assertThat(cli.run("drain").code()).isEqualTo(2);
    }
}
