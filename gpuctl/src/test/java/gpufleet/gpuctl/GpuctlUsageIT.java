package gpufleet.gpuctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Pods;
import gpufleet.control.support.SimulatedClock;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gpuctl usage: GPU-hours as a table, CSV and JSON, from two tenants' pods held for known times. */
class GpuctlUsageIT {
    static ApiFixture fx;
    static Cli cli;

    @BeforeAll
    static void start(@TempDir Path home) {
        fx = ApiFixture.start();
        cli = Cli.against(fx, home);
        SimulatedClock clock = SimulatedClock.install(fx.database, Instant.parse("2026-11-30T22:00:00Z"));
        fx.seedOfferings();
        fx.seedHost("a6000-01");
        String acme = fx.tenant("acme", List.of("seeweb-nvidia-1xa6000", "seeweb-nvidia-2xa6000"));
        String beta = fx.tenant("beta", List.of("seeweb-nvidia-1xa6000"));
        assertThat(fx.http.post("/v1/tenants/acme/workloads", acme, Pods.pod("p-1", "train", "seeweb-nvidia-2xa6000",
                List.of(Pods.container("main", 2, "2", "16Gi")))).status()).isEqualTo(201);
        clock.set(Instant.parse("2026-12-01T01:00:00Z"));
        assertThat(fx.http.post("/v1/tenants/beta/workloads", beta, Pods.seedPod("p-2")).status()).isEqualTo(201);
        clock.set(Instant.parse("2026-12-01T01:30:00Z"));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void aTableOfGpuHoursPerTenantAndDay() {
        Cli.Result r = cli.run("usage", "--from", "2026-11-30", "--to", "2026-12-02", "--group-by", "tenant,day");
        assertThat(r.code()).as(r.toString()).isZero();
        // acme: 2 GPUs from 22:00 to midnight (4 h), then to 01:30 (3 h); beta: 1 GPU from 01:00 (0.5 h).
        assertThat(r.out()).isEqualTo("""
                TENANT   DAY          GPU-HOURS   GPU-SECONDS
                acme     2026-11-30   4.000       14400
                acme     2026-12-01   3.000       10800
                beta     2026-12-01   0.500       1800
                TOTAL 7.500 GPU-hours
                """);
    }

    @Test
    void csvForABillingSystemAndTheApisJson() throws Exception {
        Cli.Result csv = cli.run("usage", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "--group-by",
                "tenant,model", "-o", "csv");
        assertThat(csv.code()).as(csv.toString()).isZero();
        assertThat(csv.out()).isEqualTo("tenant,model,gpuSeconds,gpuHours\r\nacme,NVIDIA RTX A6000,10800.0,3.0\r\n"
                + "beta,NVIDIA RTX A6000,1800.0,0.5\r\n");
        Cli.Result json = cli.run("usage", "--from", "2026-12-01", "--to", "2026-12-02", "--tenant", "beta", "--output", "json");
        JsonNode doc = new ObjectMapper().readTree(json.out());
        assertThat(doc.get("tenant").asText()).isEqualTo("beta");
        assertThat(doc.get("totalGpuSeconds").asDouble()).isEqualTo(1800.0);
    }

    @Test
    void badRangesAreTheApisRefusalsAndBadFormatsAUsageError() {
        Cli.Result backwards = cli.run("usage", "--from", "2026-12-02", "--to", "2026-12-01");
        assertThat(backwards.code()).as(backwards.toString()).isEqualTo(1);
        assertThat(backwards.err()).contains("must be after from");
        assertThat(cli.run("usage", "--from", "2026-12-01", "--to", "2026-12-02", "--group-by", "pod").err())
                .contains("groupBy 'pod' is not one of tenant, offering, model, day");
        assertThat(cli.run("usage", "--from", "2026-12-01", "--to", "2026-12-02", "-o", "xml").code()).isEqualTo(2);
        assertThat(cli.run("usage", "--to", "2026-12-02").code()).as("--from is required").isEqualTo(2);
        assertThat(cli.run("usage", "--from", "2026-12-01", "--to", "2026-12-02", "--tenant", "nobody").code()).isEqualTo(3);
    }
}
