package gpufleet.control.stream;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.StreamCertificates;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What a host reports for its stream server: the certificate is pinned on the first report and a
 * different one is refused until an operator re-keys the host; the ticket key is stored sealed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamEndpointIT {
    static final String CERT_A = StreamCertificates.A;
    static final String CERT_B = StreamCertificates.B;
    static final String KEY = "k".repeat(43);
    ApiFixture fx;

    @BeforeAll
    void start() {
        fx = ApiFixture.start();
    }

    @AfterAll
    void stop() {
        fx.close();
    }

    private Http.Response report(ApiFixture.Host h, String certificate) {
        return fx.http.put("/v1/hosts/" + h.id() + "/streams", h.token(),
                certificate == null ? Map.of("address", "127.0.0.1:7443", "key", KEY)
                        : Map.of("address", "127.0.0.1:7443", "key", KEY, "certificate", certificate));
    }

    private String column(ApiFixture.Host h, String column) throws Exception {
        try (Connection c = fx.database.connect();
             PreparedStatement ps = c.prepareStatement("SELECT " + column + " FROM hosts WHERE id = ?::uuid")) {
            ps.setString(1, h.id());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    @Test
    void theFirstCertificateIsPinnedAndAnotherIsRefusedUntilARekey() throws Exception {
        ApiFixture.Host h = fx.register("pinned-gpu");
        assertThat(report(h, CERT_A).status()).isEqualTo(204);
        assertThat(report(h, CERT_A).status()).as("the same certificate again (an agent restart)").isEqualTo(204);
        Http.Response other = report(h, CERT_B);
        assertThat(other.status()).as(other.toString()).isEqualTo(409);
        assertThat(other.message()).contains("host pinned-gpu reported a stream certificate other than the one pinned");
        assertThat(column(h, "stream_cert")).isEqualTo(CERT_A);

        Http.Response rekey = fx.http.post("/v1/hosts/pinned-gpu/rekey", ApiFixture.OPERATOR, null);
        assertThat(rekey.status()).as(rekey.toString()).isEqualTo(200);
        assertThat(column(h, "stream_cert")).as("a re-key clears the pin").isNull();
        String join = rekey.json().at("/joinToken/token").asText();
        Http.Response again = fx.http.post("/v1/hosts/register", join, Map.of("name", "pinned-gpu"));
        assertThat(again.status()).as(again.toString()).isIn(200, 201);
        ApiFixture.Host rekeyed = new ApiFixture.Host(again.json().get("hostId").asText(), "pinned-gpu",
                again.json().get("token").asText());
        assertThat(report(rekeyed, CERT_B).status()).as("the re-keyed host pins its new certificate").isEqualTo(204);
        assertThat(report(rekeyed, CERT_A).status()).isEqualTo(409);
    }

    @Test
    void theTicketKeyIsStoredSealedAndACertificateIsRequired() throws Exception {
        ApiFixture.Host h = fx.register("sealed-gpu");
        Http.Response none = report(h, null);
        assertThat(none.status()).as(none.toString()).isEqualTo(400);
        assertThat(none.message()).contains("certificate");
        assertThat(report(h, "bm90IGEgY2VydGlmaWNhdGU=").status()).isEqualTo(400);
        assertThat(report(h, CERT_A).status()).isEqualTo(204);
        String stored = column(h, "stream_key");
        assertThat(stored).isNotNull().isNotEqualTo(KEY).doesNotContain(KEY);
    }
}
