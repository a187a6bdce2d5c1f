package gpufleet.control.http;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.db.Database;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class ErrorMapperTest {
    @Test
    void aDatabaseOutOfReachOrARaceLostInsideItIsA503() {
        assertThat(ErrorMapper.kindOf(null)).as("no answer (pool timeout)").isEqualTo(ErrorKind.UNAVAILABLE);
        assertThat(ErrorMapper.kindOf("08006")).as("connection failure").isEqualTo(ErrorKind.UNAVAILABLE);
        assertThat(ErrorMapper.kindOf("57P01")).as("admin shutdown").isEqualTo(ErrorKind.UNAVAILABLE);
        assertThat(ErrorMapper.kindOf("53300")).as("too many connections").isEqualTo(ErrorKind.UNAVAILABLE);
        assertThat(ErrorMapper.kindOf("58030")).as("I/O error").isEqualTo(ErrorKind.UNAVAILABLE);
        // A sound request that lost a race: the same request again succeeds, so not the client's 409.
        assertThat(ErrorMapper.kindOf("40001")).as("serialization failure: another request won").isEqualTo(ErrorKind.UNAVAILABLE);
        assertThat(ErrorMapper.kindOf("40P01")).as("deadlock: another request won").isEqualTo(ErrorKind.UNAVAILABLE);
        assertThat(ErrorMapper.kindOf("55P03")).as("lock not available").isEqualTo(ErrorKind.UNAVAILABLE);
        assertThat(ErrorMapper.contended("40P01")).isTrue();
        assertThat(ErrorMapper.contended("55P03")).isTrue();
        assertThat(ErrorMapper.contended("23505")).isFalse();
        assertThat(ErrorMapper.contended(null)).isFalse();
        assertThat(ErrorMapper.kindOf("55006")).as("object in use").isEqualTo(ErrorKind.CONFLICT);
        assertThat(ErrorMapper.CONFLICT_WORDS).contains("existing object");
        assertThat(ErrorMapper.kindOf("23505")).as("unique violation").isEqualTo(ErrorKind.CONFLICT);
        assertThat(ErrorMapper.kindOf("23503")).as("foreign key violation").isEqualTo(ErrorKind.CONFLICT);
        assertThat(ErrorMapper.kindOf("23514")).as("check violation").isEqualTo(ErrorKind.INVALID);
        assertThat(ErrorMapper.kindOf("22021")).as("invalid byte sequence").isEqualTo(ErrorKind.INVALID);
        assertThat(ErrorMapper.kindOf("22003")).as("numeric value out of range").isEqualTo(ErrorKind.INVALID);
        assertThat(ErrorMapper.kindOf("42601")).as("syntax error: ours").isEqualTo(ErrorKind.INTERNAL);
        assertThat(ErrorMapper.kindOf("25006")).as("a write on a server a failover made a standby").isEqualTo(ErrorKind.UNAVAILABLE);
        assertThat(ErrorMapper.kindOf("25001")).as("active transaction: ours").isEqualTo(ErrorKind.INTERNAL);
    }

    @Test
    void aChangeWhoseCommitWentUnansweredIsNotSaidToHaveChangedNothing() {
        Database.DatabaseException atCommit = new Database.DatabaseException(new SQLException("I/O error", "08006"), true);
        assertThat(ErrorMapper.unavailableWords(atCommit, "POST")).isEqualTo(ErrorMapper.UNKNOWN_WORDS).contains("may or may not");
        assertThat(ErrorMapper.unavailableWords(atCommit, "GET")).as("a read changes nothing").contains("nothing was changed");
        Database.DatabaseException before = new Database.DatabaseException(new SQLException("I/O error", "08006"), false);
        assertThat(ErrorMapper.unavailableWords(before, "POST")).as("lost before the commit: rolled back").contains("nothing was changed");
        Database.DatabaseException refused = new Database.DatabaseException(new SQLException("deadlock", "40P01"), true);
        assertThat(refused.outcomeUnknown()).as("the server answered the commit: it did not happen").isFalse();
    }

    @Test
    void jacksonsMessagesLoseTheirClassNames() {
        assertThat(Bodies.withoutClassNames("Cannot construct instance of `gpufleet.common.api.WorkloadSpec$Resources`, problem: Overflow"))
                .isEqualTo("Cannot construct instance of value, problem: Overflow");
        assertThat(Bodies.withoutClassNames("Cannot deserialize value of type `java.lang.Integer` from String"))
                .doesNotContain("java.").doesNotContain("`");
        assertThat(Bodies.withoutClassNames("name 'web.v2' is fine")).isEqualTo("name 'web.v2' is fine");
    }
}
