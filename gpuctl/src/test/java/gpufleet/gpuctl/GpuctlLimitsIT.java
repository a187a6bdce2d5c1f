package gpufleet.gpuctl;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gpuctl set limits: an operator caps a tenant, and the tenant's next pod past the cap is refused. */
class GpuctlLimitsIT {
    static ApiFixture fx;
    static Cli cli;
    static String token;

    @BeforeAll
    static void start(@TempDir Path home) {
        fx = ApiFixture.start();
        cli = Cli.against(fx, home);
        fx.seedOfferings();
        fx.seedHost("a6000-01");
        token = fx.tenant("acme", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void anOperatorCapsATenantsWorkloadsAndTheNextPodIsRefused() {
        Cli.Result set = cli.run("set", "limits", "acme", "--max-workloads", "1", "--max-streams", "2");
        assertThat(set.code()).as(set.toString()).isZero();
        assertThat(set.out()).isEqualTo("tenant/acme limits: workloads 1, routes 100, streams 2\n");

        assertThat(fx.http.post("/v1/tenants/acme/workloads", token, Pods.seedPod("p-1")).status()).isEqualTo(201);
        Http.Response over = fx.http.post("/v1/tenants/acme/workloads", token, Pods.seedPod("p-2"));
        assertThat(over.status()).as(over.toString()).isEqualTo(403);
        assertThat(over.message()).contains("exceeded quota: workloads of tenant acme", "limited: 1");

        Cli.Result reset = cli.run("set", "limits", "acme");
        assertThat(reset.out()).as("every limit left out is the default again").isEqualTo(
                "tenant/acme limits: workloads 1000, routes 100, streams 64\n");
    }

    @Test
    void badLimitsAndUnknownTenantsAreTheApisRefusals() {
        Cli.Result negative = cli.run("set", "limits", "acme", "--max-routes", "-1");
        assertThat(negative.code()).as(negative.toString()).isEqualTo(1);
        assertThat(negative.err()).contains("maxRoutes must be 0..1000000");
        assertThat(cli.run("set", "limits", "nobody").code()).isEqualTo(3);
        assertThat(cli.run("set", "quotas", "acme").code()).as("only limits are set").isEqualTo(2);
        assertThat(cli.run("set", "limits", "acme", "--max-routes", "many").code()).isEqualTo(2);
    }
}
