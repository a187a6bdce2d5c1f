package gpufleet.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.EdgeCurl;
import gpufleet.control.support.Http;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Caddy killed with -9 under the edge sync of two control-api replicas (separate processes) and
 * started again from its bare configuration: the replicas load every route into it again by
 * themselves, routes created and deleted while it was down are there and gone, a request through
 * it reaches the real pod behind the Service's name, and each replica tells the loss once and the
 * return once.
 */
class CaddyRestartIT {
    static final String DOMAIN = "fleet.test";
    static final String KEPT = "0a0a0a0a-0000-4000-8000-0000000000c1";
    static final String DROPPED = "0b0b0b0b-0000-4000-8000-0000000000c2";
    static final String ADDED = "0c0c0c0c-0000-4000-8000-0000000000c3";
    PrivateCaddy caddy;
    FaultFleet fleet;
    int https;

    @BeforeEach
    void start() throws Exception {
        caddy = new PrivateCaddy(Files.createTempDirectory("faults-caddy"));
        https = Ports.free();
        fleet = new FaultFleet(2, Map.of("GPUFLEET_EDGE_ADMIN_URL", caddy.adminUrl(), "GPUFLEET_EDGE_DOMAIN", DOMAIN,
                "GPUFLEET_EDGE_HTTPS_PORT", Integer.toString(https), "GPUFLEET_EDGE_SYNC_INTERVAL", "1s"));
        fleet.afterPrograms.add(caddy);
        fleet.afterPrograms.add(() -> Commands.run("rm", "-rf", caddy.dir.toString()));
        fleet.host("faults-e1", 0, 5);
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> fleet.freeGpus("faults-e1") == 8);
    }

    @AfterEach
    void stop() {
        fleet.close();
    }

    /** A pod whose busybox httpd answers "It works!" on port 8080. */
    static Map<String, Object> web(String uid) {
        return Map.of("podUid", uid, "namespace", "default", "name", uid, "offering", FaultFleet.OFFERING, "restartPolicy", "Always",
                "terminationGracePeriodSeconds", 1, "containers", List.of(Map.of("name", "web", "image", "gpufleet/busybox:test",
                        "command", List.of("sh", "-c", "mkdir -p /www && echo 'It works!' > /www/index.html && exec httpd -f -p 8080 -h /www"),
                        "resources", Map.of("gpus", 1, "cpu", "50m", "memory", "32Mi"))));
    }

    Http api(int replica) {
        return fleet.replicas.get(replica).http();
    }

    /** The Service {@code uid} of the tenant, port 80 to the pod's 8080, stored through replica {@code via}. */
    void publish(String uid, String pod, int via) {
        var r = api(via).put("/v1/tenants/" + FaultFleet.TENANT + "/routes/" + uid, fleet.tenantToken, Map.of("namespace", "default",
                "name", "web-" + uid.substring(0, 4), "port", 80, "targets", List.of(Map.of("podUid", pod, "port", 8080))));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
    }

    String curl(String service) {
        return EdgeCurl.get(service + "-" + FaultFleet.TENANT + "." + DOMAIN, https);
    }

    @Test
    void aKilledCaddyGetsEveryRouteBackFromTheReplicasByItself() throws Exception {
        for (String pod : List.of("web-1", "web-2")) {
            var r = api(0).post("/v1/tenants/" + FaultFleet.TENANT + "/workloads", fleet.tenantToken, web(pod));
            assertThat(r.status()).as(r.toString()).isEqualTo(201);
        }
        publish(KEPT, "web-1", 0);
        publish(DROPPED, "web-2", 1);
        await("both Services answer through the edge").atMost(Duration.ofSeconds(90))
                .until(() -> curl(KEPT) + " | " + curl(DROPPED) + " | " + api(0).get("/v1/tenants/" + FaultFleet.TENANT + "/routes", fleet.tenantToken).body()
                        + " | " + api(0).get("/v1/tenants/" + FaultFleet.TENANT + "/workloads", fleet.tenantToken).body(),
                        v -> v.startsWith("200 It works! | 200 It works!"));

        caddy.kill9();
        assertThat(curl(KEPT)).as("nothing answers at the edge while Caddy is down").startsWith("000");
        // While it is down, one Service goes away and another comes, through the other replica.
        assertThat(api(1).delete("/v1/tenants/" + FaultFleet.TENANT + "/routes/" + DROPPED, fleet.tenantToken).status()).isEqualTo(204);
        publish(ADDED, "web-2", 1);
        // Long enough for both replicas' rounds (every 1 s) to find it gone several times.
        await().atMost(Duration.ofSeconds(30)).until(() -> fleet.replicas.stream().mapToLong(r -> r.proc().lines("is unreachable")).sum() >= 1);
        Thread.sleep(4000);

        long started = System.nanoTime();
        caddy.start();
        await("every route back in the restarted Caddy").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> curl(KEPT).equals("200 It works!") && curl(ADDED).equals("200 It works!")
                        && curl(DROPPED).startsWith("404 no service is published at this name"));
        double restored = (System.nanoTime() - started) / 1e9;

        // Each replica that saw the loss tells it once and its end once; at least one saw it.
        await("each replica tells the return of what it told lost").atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            for (FaultFleet.Replica r : fleet.replicas) {
                assertThat(r.proc().lines("answers again after")).as("returns told by the replica on port " + r.port())
                        .isEqualTo(r.proc().lines("is unreachable"));
            }
        });
        long told = 0;
        for (FaultFleet.Replica r : fleet.replicas) {
            assertThat(r.proc().lines("is unreachable")).as("losses told by a replica").isLessThanOrEqualTo(1L);
            told += r.proc().lines("is unreachable");
        }
        assertThat(told).as("the loss is told").isPositive();
        System.out.printf("Caddy killed with -9 and started empty: every route (1 kept, 1 added and 1 deleted while it was down) "
                + "back within %.1f s of its start; the loss told by %d of 2 replicas, once each%n", restored, told);
    }
}
