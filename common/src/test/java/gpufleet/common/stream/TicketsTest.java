package gpufleet.common.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class TicketsTest {
    private final String key = Tickets.newKey();
    private final Instant now = Instant.parse("2026-11-28T12:00:00Z");

    @Test
    void aTicketOpensItsOperationOnItsWorkloadUntilItExpires() {
        String t = Tickets.sign(key, "exec", "w-1", now.plusSeconds(30));
        assertThat(Tickets.check(key, t, "exec", "w-1", now)).isNull();
        assertThat(Tickets.check(key, t, "exec", "w-1", now.plusSeconds(30))).isNull();
        assertThat(Tickets.check(key, t, "exec", "w-1", now.plusSeconds(31))).isEqualTo("stream ticket expired");
    }

    @Test
    void anotherOperationWorkloadKeyOrExpiryIsRefused() {
        String t = Tickets.sign(key, "exec", "w-1", now.plusSeconds(30));
        assertThat(Tickets.check(key, t, "logs", "w-1", now)).isEqualTo("stream ticket is not valid for logs on workload w-1");
        assertThat(Tickets.check(key, t, "exec", "w-2", now)).isNotNull();
        assertThat(Tickets.check(Tickets.newKey(), t, "exec", "w-1", now)).isNotNull();
        String later = (now.getEpochSecond() + 3600) + t.substring(t.indexOf('.'));
        assertThat(Tickets.check(key, later, "exec", "w-1", now)).isNotNull();
        assertThat(Tickets.check(key, null, "exec", "w-1", now)).isEqualTo("no stream ticket");
        assertThat(Tickets.check(key, "x.y", "exec", "w-1", now)).isEqualTo("malformed stream ticket");
    }
}
