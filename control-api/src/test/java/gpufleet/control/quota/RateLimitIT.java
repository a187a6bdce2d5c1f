package gpufleet.control.quota;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A tenant past its request rate gets 429 with Retry-After; other tenants and operators do not.
 * The rate is one request per 100 s after a burst of 3, so no refill can happen during the test
 * however slow the machine.
 */
class RateLimitIT {
    static final HttpClient HTTP = HttpClient.newHttpClient();

    ApiFixture fx;
    String hasty;
    String calm;

    @BeforeEach
    void start() {
        fx = ApiFixture.start(Map.of("GPUFLEET_TENANT_REQUEST_RATE", "0.01", "GPUFLEET_TENANT_REQUEST_BURST", "3"));
        fx.seedOfferings();
        hasty = fx.tenant("hasty", List.of("seeweb-nvidia-1xa6000"));
        calm = fx.tenant("calm", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private HttpResponse<String> get(String path, String token) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fx.api.port() + path))
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void pastItsBurstATenantGets429WithRetryAfterAndOthersAreNotSlowed() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertThat(get("/v1/tenants/hasty/offerings", hasty).statusCode()).as("request %d of the burst", i + 1).isEqualTo(200);
        }

        HttpResponse<String> limited = get("/v1/tenants/hasty/offerings", hasty);

        assertThat(limited.statusCode()).as(limited.body()).isEqualTo(429);
        assertThat(limited.body()).contains("too_many_requests", "tenant hasty is over its request rate");
        long retryAfter = Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow());
        assertThat(retryAfter).as("seconds until one token is back at 0.01/s").isBetween(1L, 100L);
        assertThat(get("/v1/tenants/calm/offerings", calm).statusCode()).as("another tenant has its own bucket").isEqualTo(200);
        assertThat(get("/v1/tenants/hasty/offerings", ApiFixture.OPERATOR).statusCode()).as("operators are not limited")
                .isEqualTo(200);
        assertThat(get("/v1/tenants/hasty/offerings", hasty).statusCode()).as("still limited").isEqualTo(429);
    }
}
