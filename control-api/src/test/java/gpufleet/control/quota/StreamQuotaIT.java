package gpufleet.control.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import gpufleet.control.support.Scrape;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The stream relay asks the tenant's stream quota before it reaches the host: at the limit, logs
 * and exec are a plain 403 "exceeded quota" (for exec before the WebSocket upgrade), and a
 * refused stream holds no place.
 */
class StreamQuotaIT {
    ApiFixture fx;
    String token;

    @BeforeEach
    void start() {
        fx = ApiFixture.start(Map.of("GPUFLEET_TENANT_MAX_STREAMS", "0"));
        fx.seedOfferings();
        fx.seedHost("a6000-01");
        token = fx.tenant("quiet", List.of("seeweb-nvidia-1xa6000"));
        Http.Response pod = fx.http.post("/v1/tenants/quiet/workloads", token, Pods.seedPod("p-1"));
        assertThat(pod.status()).as(pod.toString()).isEqualTo(201);
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void atItsStreamLimitATenantsLogsAndExecAreRefusedBeforeReachingTheHost() {
        Http.Response logs = fx.http.get("/v1/tenants/quiet/workloads/p-1/logs?container=nvidia", token);
        assertThat(logs.status()).as(logs.toString()).isEqualTo(403);
        assertThat(logs.message()).contains("exceeded quota: concurrent streams of tenant quiet", "used: 0", "limited: 0");

        CompletionException refused = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class, () ->
                HttpClient.newHttpClient().newWebSocketBuilder().header("Authorization", "Bearer " + token)
                        .buildAsync(URI.create("ws://127.0.0.1:" + fx.api.port()
                                + "/v1/tenants/quiet/workloads/p-1/exec?container=nvidia&command=true&stdout=true"),
                                new WebSocket.Listener() {}).join());
        assertThat(refused.getCause()).isInstanceOf(WebSocketHandshakeException.class);
        WebSocketHandshakeException e = (WebSocketHandshakeException) refused.getCause();
        assertThat(e.getResponse().statusCode()).isEqualTo(403);
        assertThat(fx.api.streamQuota().open("quiet")).as("refused streams hold no place").isZero();
    }

    @Test
    void openStreamsAreCountedOnMetricsAndRefusedOnesAreNot() {
        Http.Response limits = fx.http.put("/v1/tenants/quiet/limits", ApiFixture.OPERATOR, Map.of("maxStreams", 2));
        assertThat(limits.status()).as(limits.toString()).isEqualTo(200);
        StreamQuota.Permit one = fx.api.streamQuota().acquire("quiet");
        StreamQuota.Permit two = fx.api.streamQuota().acquire("quiet");
        assertThatThrownBy(() -> fx.api.streamQuota().acquire("quiet")).hasMessageContaining("exceeded quota");
        Http metrics = new Http(fx.api.metricsPort());
        assertThat(new Scrape(metrics.get("/metrics", null).body()).value("gpufleet_stream_sessions")).isEqualTo(2);
        one.close();
        one.close();
        assertThat(new Scrape(metrics.get("/metrics", null).body()).value("gpufleet_stream_sessions"))
                .as("a permit closed twice gives back one place").isEqualTo(1);
        two.close();
        assertThat(new Scrape(metrics.get("/metrics", null).body()).value("gpufleet_stream_sessions")).isZero();
    }
}
