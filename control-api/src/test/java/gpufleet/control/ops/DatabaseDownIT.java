package gpufleet.control.ops;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Without its database the control-api says so: 503 with the reason, readiness fails. */
class DatabaseDownIT {
    @Test
    void requestsAnswer503AndReadinessFailsWhenTheDatabaseIsGone() {
        try (ApiFixture fx = ApiFixture.start()) {
            ApiFixture.Host h = fx.seedHost("orphan");
            fx.api.database().close();

            Http.Response beat = fx.http.post("/v1/hosts/" + h.id() + "/heartbeat", h.token(), null);
            // The token is still remembered for a few seconds, so the heartbeat reaches the batch write.
            assertThat(beat.status()).as(beat.toString()).isEqualTo(503);
            assertThat(beat.error()).isEqualTo("unavailable");
            assertThat(beat.message()).contains("database is unavailable");

            Http.Response list = fx.http.get("/v1/tenants", "gfo_never-seen-token-000000000000");
            assertThat(list.status()).isEqualTo(503);
            assertThat(fx.http.get("/readyz", null).status()).isEqualTo(503);
            assertThat(fx.http.get("/healthz", null).status()).isEqualTo(200);
            assertThat(fx.http.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", "x")).status()).isEqualTo(503);
        }
    }
}
