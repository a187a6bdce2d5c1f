package gpufleet.control.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.api.GpuReport;
import gpufleet.common.api.InventoryReport;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import gpufleet.control.support.StreamCertificates;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A host is believed only as far as the operator approved it: GPUs beyond its approved inventory
 * are held and never placed onto, and whatever it asks the edge or the control-api to connect to
 * must be on its registered address. Against a real control-api on PostgreSQL. (Part of
 * docs/security.md's list of walls.)
 */
class HostTrustIT {
    static final String CPU = "8000m";
    static final String MEMORY = "32861620Ki";
    static ApiFixture fx;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void aHostReportingMoreGpusThanApprovedGetsNoWorkOnTheExtraOnesUntilTheOperatorApproves() {
        String model = "NVIDIA Trust More";
        fx.offering("trust-more-1x", model, 1, CPU, MEMORY);
        String tenant = fx.tenant("trust-more", List.of("trust-more-1x"));
        Host h = readyHost("trust-more-01", model, 2);

        fx.report(h, report(h, 2, model, 4));
        JsonNode detail = hostDetail(h);
        JsonNode held = condition(detail, "InventoryApproved");
        assertThat(held.path("status").asText()).as(detail.toString()).isEqualTo("False");
        assertThat(held.path("reason").asText()).isEqualTo("GpusAdded");
        assertThat(held.path("message").asText()).contains(Inventories.uuid(h.name(), 2), Inventories.uuid(h.name(), 3),
                "beyond the approved 2 x " + model, "gpuctl approve host " + h.name());
        assertThat(detail.path("gpus")).as("held GPUs are not part of the host's inventory").hasSize(2);
        assertThat(events(h)).anyMatch(e -> e.startsWith("InventoryHeld") && e.contains(Inventories.uuid(h.name(), 3)));

        List<String> placedOn = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            JsonNode w = create(tenant, "more-" + i, "trust-more-1x");
            assertThat(w.path("phase").asText()).as(w.toString()).isEqualTo("placed");
            placedOn.add(w.at("/gpus/main/0").asText());
        }
        JsonNode third = create(tenant, "more-2", "trust-more-1x");
        assertThat(third.path("phase").asText()).as("the extra GPUs are not placed onto: %s", third).isEqualTo("pending");
        assertThat(placedOn).containsExactlyInAnyOrder(Inventories.uuid(h.name(), 0), Inventories.uuid(h.name(), 1));

        Http.Response approved = fx.http.post("/v1/hosts/" + h.name() + "/approve", ApiFixture.OPERATOR, Map.of());
        assertThat(approved.status()).as(approved.toString()).isEqualTo(200);
        assertThat(approved.json().path("approved")).hasSize(2);
        assertThat(approved.json().path("inventory").asText()).isEqualTo("4 x " + model);
        JsonNode placed = await("the pending pod placed once the operator approved").atMost(Duration.ofSeconds(60))
                .until(() -> workload(tenant, "more-2"), w -> w.path("phase").asText().equals("placed"));
        assertThat(placed.at("/gpus/main/0").asText()).isIn(Inventories.uuid(h.name(), 2), Inventories.uuid(h.name(), 3));
        assertThat(condition(hostDetail(h), "InventoryApproved").path("status").asText()).isEqualTo("True");
        assertThat(events(h)).anyMatch(e -> e.startsWith("InventoryApproved") && e.contains("approved 2 GPU(s)"));

        // Shrinking needs no approval: a GPU the host stops reporting is only unavailable.
        fx.report(h, Inventories.withGpus(report(h, 3, model, 4), 3, report(h, 3, model, 4).gpus().subList(0, 3)));
        JsonNode shrunk = hostDetail(h);
        assertThat(condition(shrunk, "InventoryApproved").path("status").asText()).as(shrunk.toString()).isEqualTo("True");
        assertThat(shrunk.at("/host/gpus/unhealthy").asLong()).isEqualTo(1);
    }

    @Test
    void aHostReportingOtherModelsIsHeldAndItsGpusAreNotPlacedAsEitherModel() {
        String approvedModel = "NVIDIA Trust Old";
        String claimed = "NVIDIA Trust New";
        fx.offering("trust-old-1x", approvedModel, 1, CPU, MEMORY);
        fx.offering("trust-new-1x", claimed, 1, CPU, MEMORY);
        String tenant = fx.tenant("trust-models", List.of("trust-old-1x", "trust-new-1x"));
        Host h = readyHost("trust-models-01", approvedModel, 1);

        fx.report(h, report(h, 2, claimed, 1));
        JsonNode detail = hostDetail(h);
        JsonNode held = condition(detail, "InventoryApproved");
        assertThat(held.path("reason").asText()).as(detail.toString()).isEqualTo("ModelChanged");
        assertThat(held.path("message").asText()).contains("reported as " + claimed + ", approved as " + approvedModel);
        assertThat(detail.at("/gpus/0/model").asText()).isEqualTo(approvedModel);
        assertThat(detail.at("/gpus/0/healthReason").asText()).contains("held until an operator approves");
        assertThat(create(tenant, "models-new", "trust-new-1x").path("phase").asText()).isEqualTo("pending");
        assertThat(create(tenant, "models-old", "trust-old-1x").path("phase").asText()).isEqualTo("pending");

        assertThat(fx.http.post("/v1/hosts/" + h.name() + "/approve", ApiFixture.OPERATOR, Map.of()).status()).isEqualTo(200);
        JsonNode placed = await("the pod on the approved model placed").atMost(Duration.ofSeconds(60))
                .until(() -> workload(tenant, "models-new"), w -> w.path("phase").asText().equals("placed"));
        assertThat(placed.at("/gpus/main/0").asText()).isEqualTo(Inventories.uuid(h.name(), 0));
        assertThat(hostDetail(h).at("/gpus/0/model").asText()).isEqualTo(claimed);
    }

    @Test
    void aHostPublishingAnotherAddressIsRefusedNamingTheFieldAndNothingChanges() {
        String model = "NVIDIA Trust Ports";
        fx.offering("trust-ports-1x", model, 1, CPU, MEMORY);
        String tenant = fx.tenant("trust-ports", List.of("trust-ports-1x"));
        Host h = readyHost("trust-ports-01", model, 1);
        assertThat(hostDetail(h).at("/host/address").asText()).as("registered from its connection").isEqualTo("127.0.0.1");
        String workload = create(tenant, "ports-1", "trust-ports-1x").path("id").asText();
        String status = "/v1/hosts/" + h.id() + "/workloads/" + workload + "/status";

        for (String elsewhere : List.of("192.0.2.10:31000", "[::1]:31000", "127.0.0.2:31000")) {
            Http.Response r = fx.http.put(status, h.token(), Map.of("generation", 1, "ports", Map.of("8080", elsewhere)));
            assertThat(r.status()).as(r.toString()).isEqualTo(403);
            assertThat(r.json().path("field").asText()).isEqualTo("ports.8080");
            assertThat(r.message()).contains(elsewhere, "registered address 127.0.0.1");
        }
        assertThat(workload(tenant, "ports-1").path("status").toString()).as("nothing stored").doesNotContain("31000");
        Http.Response own = fx.http.put(status, h.token(), Map.of("generation", 1, "ports", Map.of("8080", "127.0.0.1:31000")));
        assertThat(own.status()).as("generation 1 is still free: the refusals stored nothing; %s", own).isEqualTo(200);
        assertThat(own.json().path("applied").asBoolean()).isTrue();
    }

    @Test
    void aStreamEndpointAtAnotherAddressIsRefusedAndTheOperatorCanMoveTheAddress() throws SQLException {
        Host h = readyHost("trust-streams-01", "NVIDIA Trust Streams", 1);
        String key = "k".repeat(40);
        Http.Response elsewhere = streams(h, "192.0.2.20:10350", key);
        assertThat(elsewhere.status()).as(elsewhere.toString()).isEqualTo(403);
        assertThat(elsewhere.json().path("field").asText()).isEqualTo("address");
        assertThat(elsewhere.message()).contains("192.0.2.20:10350", "registered address 127.0.0.1");
        assertThat(storedStreamAddress(h)).as("nothing stored").isNull();
        assertThat(streams(h, "127.0.0.1:10350", key).status()).isEqualTo(204);
        assertThat(storedStreamAddress(h)).isEqualTo("127.0.0.1:10350");

        Http.Response tenantTry = fx.http.put("/v1/hosts/" + h.name() + "/address", h.token(), Map.of("address", "192.0.2.20"));
        assertThat(tenantTry.status()).as("only an operator sets the address: %s", tenantTry).isIn(401, 403);
        Http.Response name = fx.http.put("/v1/hosts/" + h.name() + "/address", ApiFixture.OPERATOR, Map.of("address", "gpu.example"));
        assertThat(name.status()).isEqualTo(400);
        assertThat(name.json().path("field").asText()).isEqualTo("address");

        Http.Response moved = fx.http.put("/v1/hosts/" + h.name() + "/address", ApiFixture.OPERATOR, Map.of("address", "192.0.2.20"));
        assertThat(moved.status()).as(moved.toString()).isEqualTo(200);
        assertThat(moved.json().path("previous").asText()).isEqualTo("127.0.0.1");
        assertThat(streams(h, "192.0.2.20:10350", key).status()).isEqualTo(204);
        assertThat(streams(h, "127.0.0.1:10350", key).status()).as("the old address is no longer the host's").isEqualTo(403);
        assertThat(storedStreamAddress(h)).isEqualTo("192.0.2.20:10350");
        assertThat(events(h)).anyMatch(e -> e.startsWith("AddressChanged") && e.contains("192.0.2.20 (was 127.0.0.1)"));
    }

    @Test
    void aJoinTokenBoundToAnAddressRegistersTheHostAtThatAddress() {
        Http.Response issued = fx.http.post("/v1/join-tokens", ApiFixture.OPERATOR,
                Map.of("hosts", List.of("trust-bound-01"), "address", "192.0.2.30"));
        assertThat(issued.status()).as(issued.toString()).isEqualTo(201);
        Http.Response reg = fx.http.post("/v1/hosts/register", issued.json().path("token").asText(), Map.of("name", "trust-bound-01"));
        assertThat(reg.status()).as(reg.toString()).isEqualTo(201);
        Host h = new Host(reg.json().path("hostId").asText(), "trust-bound-01", reg.json().path("token").asText());
        assertThat(hostDetail(h).at("/host/address").asText()).isEqualTo("192.0.2.30");
        assertThat(streams(h, "127.0.0.1:10350", "k".repeat(40)).status()).isEqualTo(403);

        Http.Response unbound = fx.http.post("/v1/join-tokens", ApiFixture.OPERATOR, Map.of("address", "192.0.2.31"));
        assertThat(unbound.status()).as("an address binds one named host").isEqualTo(400);
        assertThat(unbound.json().path("field").asText()).isEqualTo("address");
    }

    private static Host readyHost(String name, String model, int gpus) {
        Host h = fx.register(name);
        fx.heartbeat(h);
        fx.report(h, report(h, 1, model, gpus));
        return h;
    }

    private static InventoryReport report(Host h, long generation, String model, int gpus) {
        List<GpuReport> list = new ArrayList<>();
        for (int i = 0; i < gpus; i++) {
            list.add(Inventories.gpu(h.name(), i, model, true, null));
        }
        return Inventories.withGpus(Inventories.seedPool(h.name(), generation), generation, list);
    }

    private static JsonNode create(String tenantToken, String uid, String offering) {
        String tenant = tenantOf(uid);
        Http.Response r = fx.http.post("/v1/tenants/" + tenant + "/workloads", tenantToken,
                Pods.pod(uid, uid, offering, List.of(Pods.container("main", 1, "1", "1Gi"))));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json();
    }

    private static JsonNode workload(String tenantToken, String uid) {
        return fx.http.get("/v1/tenants/" + tenantOf(uid) + "/workloads/" + uid, tenantToken).json();
    }

    /** Each test's tenant is named for the first word of its pods' UIDs. */
    private static String tenantOf(String uid) {
        return "trust-" + uid.substring(0, uid.indexOf('-'));
    }

    private static Http.Response streams(Host h, String address, String key) {
        return fx.http.put("/v1/hosts/" + h.id() + "/streams", h.token(),
                Map.of("address", address, "key", key, "certificate", StreamCertificates.A));
    }

    /** The stream address the control-api would dial for this host: no API shows it, so it is read where it is kept. */
    private static String storedStreamAddress(Host h) throws SQLException {
        try (Connection c = fx.database.connect();
             PreparedStatement ps = c.prepareStatement("SELECT stream_url FROM hosts WHERE id = ?::uuid")) {
            ps.setString(1, h.id());
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                return rs.getString(1);
            }
        }
    }

    private static JsonNode hostDetail(Host h) {
        Http.Response r = fx.http.get("/v1/hosts/" + h.name(), ApiFixture.OPERATOR);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        return r.json();
    }

    private static JsonNode condition(JsonNode detail, String type) {
        for (JsonNode c : detail.at("/host/conditions")) {
            if (c.path("type").asText().equals(type)) {
                return c;
            }
        }
        throw new AssertionError("no condition " + type + " in " + detail);
    }

    /** The host's events as "Reason: message". */
    private static List<String> events(Host h) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : fx.http.get("/v1/events?host=" + h.name(), ApiFixture.OPERATOR).json().path("items")) {
            out.add(e.path("reason").asText() + ": " + e.path("message").asText());
        }
        return out;
    }
}
