package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.StatusRuntimeException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The gRPC probe's hand-coded health messages, and its timeout, without a pod. */
class GrpcProbeTest {
    @Test
    void theRequestCarriesTheServiceAndTheResponseStatusIsReadSkippingOtherFields() {
        assertThat(GrpcProbe.request(null)).isEmpty();
        assertThat(GrpcProbe.request("")).isEmpty();
        assertThat(GrpcProbe.request("model")).containsExactly(0x0a, 5, 'm', 'o', 'd', 'e', 'l');
        assertThat(GrpcProbe.status(new byte[0])).as("UNKNOWN when absent").isZero();
        assertThat(GrpcProbe.status(new byte[] {0x08, 0x01})).isEqualTo(1);
        assertThat(GrpcProbe.status(new byte[] {0x12, 0x02, 'a', 'b', 0x08, 0x02})).isEqualTo(2);
    }

    @Test
    @Timeout(value = 5, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aMalformedResponseFailsAndNeverLoops() {
        // A length that points far past the message (or wraps negative), a varint cut short, a varint that never ends.
        // -6 as a 32-bit length: read back to the start, it would loop forever.
        assertThatThrownBy(() -> GrpcProbe.status(new byte[] {0x12, (byte) 0xfa, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f}))
                .isInstanceOf(StatusRuntimeException.class).hasMessageContaining("malformed");
        assertThatThrownBy(() -> GrpcProbe.status(new byte[] {0x12, 0x7f, 0x08})).isInstanceOf(StatusRuntimeException.class);
        assertThatThrownBy(() -> GrpcProbe.status(new byte[] {0x08, (byte) 0x80})).isInstanceOf(StatusRuntimeException.class);
        byte[] endless = new byte[20];
        Arrays.fill(endless, (byte) 0x80);
        assertThatThrownBy(() -> GrpcProbe.status(endless)).isInstanceOf(StatusRuntimeException.class);
        assertThatThrownBy(() -> GrpcProbe.status(new byte[] {0x0b})).as("wire type 3").isInstanceOf(StatusRuntimeException.class);
    }

    @Test
    void aServerThatNeverAnswersFailsAtTheTimeoutInTheKubeletsWords() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread accept = new Thread(() -> {
                try (Socket s = silent.accept()) {
                    s.getInputStream().readAllBytes(); // reads, never answers
                } catch (Exception e) {
                    // closed with the test
                }
            });
            accept.setDaemon(true);
            accept.start();
            long t0 = System.nanoTime();
            Prober.Result r = GrpcProbe.check("127.0.0.1", silent.getLocalPort(), null, Duration.ofSeconds(1));
            assertThat(r.kind()).isEqualTo(Prober.Kind.FAILURE);
            assertThat(r.output()).isEqualTo("timeout: health rpc did not complete within 1s");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
        }
        assertThat(new String(GrpcProbe.request("x"), StandardCharsets.ISO_8859_1)).isEqualTo("\n\u0001x");
    }
}
