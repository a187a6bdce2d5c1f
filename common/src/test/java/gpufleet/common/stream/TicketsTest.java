package gpufleet.common.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class TicketsTest {
    private final String key = Tickets.newKey();
    private final Instant now = Instant.parse("2026-11-28T12:00:00Z");

    private static StreamRequest exec(String ticket, List<String> command) {
        return new StreamRequest("exec", "w-1", ticket, "default", "p", "main", command, true, true, true, false, false,
                null, null, null, false, false, null, null, null);
    }

    private StreamRequest signed(StreamRequest r, Instant expires) {
        return withTicket(r, Tickets.sign(key, r, expires));
    }

    private static StreamRequest withTicket(StreamRequest r, String ticket) {
        return new StreamRequest(r.op(), r.workload(), ticket, r.namespace(), r.pod(), r.container(), r.command(), r.stdin(),
                r.stdout(), r.stderr(), r.tty(), r.follow(), r.tailLines(), r.sinceSeconds(), r.sinceTime(), r.timestamps(),
                r.previous(), r.limitBytes(), r.port(), r.workloads());
    }

    @Test
    void aTicketOpensItsRequestUntilItExpires() {
        StreamRequest r = signed(exec(null, List.of("sh", "-c", "id")), now.plusSeconds(15));
        assertThat(Tickets.check(key, r, now).refusal()).isNull();
        assertThat(Tickets.check(key, r, now.plusSeconds(15)).refusal()).isNull();
        assertThat(Tickets.check(key, r, now.plusSeconds(16)).refusal()).isEqualTo("stream ticket expired");
    }

    @Test
    void anAlteredRequestIsRefused() {
        StreamRequest r = signed(exec(null, List.of("sh", "-c", "id")), now.plusSeconds(15));
        String ticket = r.ticket();
        String refusal = Tickets.check(key, withTicket(exec(null, List.of("sh", "-c", "cat /etc/shadow")), ticket), now).refusal();
        assertThat(refusal).startsWith("stream ticket does not match this request (exec on workload w-1)");
        // The same words split otherwise are another command.
        assertThat(Tickets.check(key, withTicket(exec(null, List.of("sh", "-c id")), ticket), now).refusal()).isNotNull();
        StreamRequest otherContainer = new StreamRequest("exec", "w-1", ticket, "default", "p", "sidecar", r.command(), true,
                true, true, false, false, null, null, null, false, false, null, null, null);
        assertThat(Tickets.check(key, otherContainer, now).refusal()).isNotNull();
        StreamRequest otherWorkload = new StreamRequest("exec", "w-2", ticket, "default", "p", "main", r.command(), true,
                true, true, false, false, null, null, null, false, false, null, null, null);
        assertThat(Tickets.check(key, otherWorkload, now).refusal()).isNotNull();
        assertThat(Tickets.check(Tickets.newKey(), r, now).refusal()).isNotNull();
        String later = (now.getEpochSecond() + 10) + ticket.substring(ticket.indexOf('.'));
        assertThat(Tickets.check(key, withTicket(r, later), now).refusal()).isNotNull();
    }

    @Test
    void malformedMissingOrTooLongLivedTicketsAreRefused() {
        assertThat(Tickets.check(key, exec(null, List.of("id")), now).refusal()).isEqualTo("no stream ticket");
        assertThat(Tickets.check(key, exec("x.y", List.of("id")), now).refusal()).isEqualTo("malformed stream ticket");
        assertThat(Tickets.check(key, signed(exec(null, List.of("id")), now.plusSeconds(3600)), now).refusal())
                .isEqualTo("stream ticket lives longer than 60 s");
    }

    @Test
    void theGateAdmitsATicketOnceAndForgetsItsNonceAfterExpiry() {
        TicketGate gate = new TicketGate(key);
        StreamRequest r = signed(exec(null, List.of("id")), now.plusSeconds(15));
        assertThat(gate.admit(r, now)).isNull();
        assertThat(gate.admit(r, now.plusSeconds(1))).isEqualTo("stream ticket already used");
        StreamRequest again = signed(exec(null, List.of("id")), now.plusSeconds(15));
        assertThat(gate.admit(again, now.plusSeconds(1))).as("a new ticket for the same request has its own nonce").isNull();
        assertThat(gate.admit(r, now.plusSeconds(16))).isEqualTo("stream ticket expired");
        assertThat(gate.remembered()).isZero();
    }
}
