package gpufleet.control.ops;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.ControlApi;
import gpufleet.control.config.SealKey;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.TestDatabase;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Two control-api processes on one empty database: they migrate once, and share everything. */
class ReplicasIT {
    @Test
    void twoInstancesStartingTogetherOnOneDatabaseServeTheSameFleet() {
        try (TestDatabase db = TestDatabase.create()) {
            CompletableFuture<ControlApi> a = CompletableFuture.supplyAsync(() -> ControlApi.start(ApiFixture.config(db, Map.of())));
            CompletableFuture<ControlApi> b = CompletableFuture.supplyAsync(() -> ControlApi.start(ApiFixture.config(db, Map.of())));
            try (ControlApi one = a.join(); ControlApi two = b.join()) {
                // GPUFLEET_OPERATOR_TOKEN is set by the fixture's defaults; the bootstrap stores it once.
                Http h1 = new Http(one.port());
                Http h2 = new Http(two.port());
                Http.Response join = h1.post("/v1/join-tokens", ApiFixture.OPERATOR, Map.of("ttl", "10m"));
                assertThat(join.status()).isEqualTo(201);
                Http.Response reg = h2.post("/v1/hosts/register", join.json().get("token").asText(), Map.of("name", "shared"));
                assertThat(reg.status()).isEqualTo(201);
                String id = reg.json().get("hostId").asText();
                String token = reg.json().get("token").asText();
                assertThat(h1.post("/v1/hosts/" + id + "/heartbeat", token, null).status()).isEqualTo(204);
                assertThat(h2.put("/v1/hosts/" + id + "/inventory", token, Inventories.seedPool("shared", 1)).status()).isEqualTo(200);
                assertThat(h1.get("/v1/hosts/shared", ApiFixture.OPERATOR).json().get("gpus")).hasSize(8);
                assertThat(h1.get("/v1/tokens?role=operator", ApiFixture.OPERATOR).json().get("items")).hasSize(1);
                assertThat(h2.get("/readyz", null).status()).isEqualTo(200);
            }
        }
    }

    @Test
    void withoutAConfiguredTokenTheFirstStartCreatesOneOperatorTokenAndLaterStartsDoNot() {
        try (TestDatabase db = TestDatabase.create()) {
            String first;
            try (ControlApi api = ControlApi.start(withoutToken(db))) {
                first = api.firstOperatorToken();
                assertThat(first).startsWith("gfo_");
                Http http = new Http(api.port());
                assertThat(http.get("/v1/hosts", first).status()).isEqualTo(200);
            }
            try (ControlApi again = ControlApi.start(withoutToken(db))) {
                assertThat(again.firstOperatorToken()).isNull();
                assertThat(new Http(again.port()).get("/v1/hosts", first).status()).isEqualTo(200);
            }
        }
    }

    private static gpufleet.control.config.ControlApiConfig withoutToken(TestDatabase db) {
        Map<String, String> v = new java.util.HashMap<>(gpufleet.control.config.ControlApiConfig.DEFAULTS);
        v.put("GPUFLEET_DB_URL", db.url());
        v.put("GPUFLEET_DB_USER", TestDatabase.USER);
        v.put("GPUFLEET_DB_PASSWORD", TestDatabase.PASSWORD);
        v.put("GPUFLEET_LISTEN", "127.0.0.1:0");
        v.put("GPUFLEET_METRICS_LISTEN", "127.0.0.1:0");
        v.put(SealKey.FILE_VARIABLE, ApiFixture.SEAL_KEY_FILE.toString());
        return gpufleet.control.config.ControlApiConfig.from(v);
    }
}
