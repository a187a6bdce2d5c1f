package gpufleet.gpuctl.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class TableTest {
    static final Instant NOW = Instant.parse("2026-11-28T12:00:00Z");
    static final List<Column> COLUMNS = List.of(
            Column.of("NAME", n -> Column.text(n, "name")),
            Column.of("FREE", n -> Column.number(n, "free")),
            Column.of("AGE", n -> Column.time(n, "created")),
            Column.wide("ID", n -> Column.text(n, "id")));

    static JsonNode item(String name, long free, String created) {
        return new ObjectMapper().createObjectNode().put("name", name).put("free", free).put("created", created).put("id", "id-" + name);
    }

    static String print(Table t) {
        StringWriter out = new StringWriter();
        t.print(new PrintWriter(out), NOW);
        return out.toString();
    }

    final List<JsonNode> items = List.of(item("gpu-10", 10, "2026-11-28T11:59:30Z"), item("gpu-9", 9, "2026-11-26T12:00:00Z"),
            item("gpu-1", 1, "2026-11-28T09:00:00Z"));

    @Test
    void columnsAreAlignedUnderUpperCaseHeadersWithAgesAndNoneForMissing() {
        Table t = Table.of(COLUMNS, false).addAll(items).add(new ObjectMapper().createObjectNode().put("name", "gpu-x"));
        assertThat(print(t)).isEqualTo("""
                NAME     FREE     AGE
                gpu-10   10       30s
                gpu-9    9        2d
                gpu-1    1        3h
                gpu-x    <none>   <none>
                """);
        assertThat(print(Table.of(COLUMNS, true).addAll(items))).startsWith("NAME     FREE   AGE   ID\n");
    }

    @Test
    void numbersSortByValueAgesYoungestFirstAndDescendingForTop() {
        assertThat(print(Table.of(COLUMNS, false).addAll(items).sortBy("free"))).contains("gpu-1 ").containsSubsequence("gpu-1 ", "gpu-9 ", "gpu-10");
        assertThat(print(Table.of(COLUMNS, false).addAll(items).sortBy("AGE"))).containsSubsequence("gpu-10", "gpu-1 ", "gpu-9 ");
        assertThat(print(Table.of(COLUMNS, false).addAll(items).sortDescending("FREE"))).containsSubsequence("gpu-10", "gpu-9 ", "gpu-1 ");
        assertThatThrownBy(() -> Table.of(COLUMNS, false).sortBy("colour")).hasMessage("no column colour; the columns are NAME, FREE, AGE");
    }

    @Test
    void agesReadLikeKubectls() {
        assertThat(Age.of(Duration.ofSeconds(59))).isEqualTo("59s");
        assertThat(Age.of(Duration.ofSeconds(150))).isEqualTo("2m30s");
        assertThat(Age.of(Duration.ofMinutes(45))).isEqualTo("45m");
        assertThat(Age.of(Duration.ofMinutes(5 * 60 + 7))).isEqualTo("5h7m");
        assertThat(Age.of(Duration.ofHours(20))).isEqualTo("20h");
        assertThat(Age.of(Duration.ofHours(3 * 24 + 4))).isEqualTo("3d4h");
        assertThat(Age.of(Duration.ofDays(40))).isEqualTo("40d");
        assertThat(Age.of(Duration.ofDays(1000))).isEqualTo("2y");
        assertThat(Age.of(Duration.ofSeconds(-5))).as("a clock slightly behind the server's").isEqualTo("0s");
    }
}
