package gpufleet.control.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An offering's bound on what one pod may write to its host's disk: checked, shown, sent to the host. */
class OfferingDiskIT {
    ApiFixture fx;
    ApiFixture.Host host;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        host = fx.seedHost("disk-pool");
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void anOfferingsDiskBoundReachesTheRuntimeClassAndTheHost() {
        var bad = fx.http.post("/v1/offerings", ApiFixture.OPERATOR, Map.of("name", "tiny-disk", "gpuModel", Inventories.A6000,
                "gpuCount", 1, "cpu", "1", "memory", "1Gi", "ephemeralStorage", "1Ki"));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.message()).contains("ephemeralStorage must be at least 1Mi");
        var made = fx.http.post("/v1/offerings", ApiFixture.OPERATOR, Map.of("name", "with-disk", "gpuModel", Inventories.A6000,
                "gpuCount", 1, "cpu", "1", "memory", "1Gi", "ephemeralStorage", "200Gi"));
        assertThat(made.status()).as(made.toString()).isEqualTo(201);
        String t = fx.tenant("disk-tenant", List.of("with-disk"));
        assertThat(fx.http.get("/v1/tenants/disk-tenant/offerings", t).json().at("/items/0/annotations/limits.k8s.gpu~1ephemeral-storage")
                .asText()).isEqualTo("200Gi");
        var pod = Pods.pod("uid-disk", "disk", "with-disk",
                List.of(Pods.container("main", 1, "1", "1Gi")));
        assertThat(fx.http.post("/v1/tenants/disk-tenant/workloads", t, pod).status()).isEqualTo(201);
        JsonNode desired = fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json();
        assertThat(desired.at("/workloads/0/podEphemeralStorageBytes").asLong()).isEqualTo(200L << 30);
        assertThat(desired.at("/workloads/0").has("podShmSizeBytes")).as("no shm size: the field is left out").isFalse();
    }

    @Test
    void anOfferingsShmSizeIsCheckedShownAndSentToTheHost() {
        for (List<String> bad : List.of(List.of("1Ki", "shmSize must be at least 1Mi"),
                List.of("2Gi", "shmSize (2Gi) must be at most the offering's memory (1Gi)"),
                List.of("lots", "shmSize"))) {
            var r = fx.http.post("/v1/offerings", ApiFixture.OPERATOR, Map.of("name", "bad-shm", "gpuModel", Inventories.A6000,
                    "gpuCount", 1, "cpu", "1", "memory", "1Gi", "shmSize", bad.get(0)));
            assertThat(r.status()).as(bad.get(0)).isEqualTo(400);
            assertThat(r.message()).contains(bad.get(1));
        }
        assertThat(fx.http.get("/v1/offerings", ApiFixture.OPERATOR).json().get("items")).isEmpty();
        var made = fx.http.post("/v1/offerings", ApiFixture.OPERATOR, Map.of("name", "with-shm", "gpuModel", Inventories.A6000,
                "gpuCount", 1, "cpu", "1", "memory", "16Gi", "shmSize", "8Gi"));
        assertThat(made.status()).as(made.toString()).isEqualTo(201);
        String t = fx.tenant("shm-tenant", List.of("with-shm"));
        assertThat(fx.http.get("/v1/tenants/shm-tenant/offerings", t).json().at("/items/0/annotations/limits.k8s.gpu~1shm-size")
                .asText()).isEqualTo("8Gi");
        var pod = Pods.pod("uid-shm", "shm", "with-shm", List.of(Pods.container("main", 1, "1", "4Gi")));
        assertThat(fx.http.post("/v1/tenants/shm-tenant/workloads", t, pod).status()).isEqualTo(201);
        JsonNode desired = fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json();
        assertThat(desired.at("/workloads/0/podShmSizeBytes").asLong()).isEqualTo(8L << 30);
    }

}
