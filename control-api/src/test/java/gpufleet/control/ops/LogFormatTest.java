package gpufleet.control.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The control-api's logback.xml as shipped, in a JVM of its own started as the program is
 * (GPUFLEET_LOG_FORMAT in its environment): ISO-8601 dates with the zone in both, one JSON
 * object a line in json (logstash-logback-encoder's fields), the request id in both.
 */
class LogFormatTest {
    /** Logs what the tests read: a line in a request, one outside, one with a hostile value. */
    public static void main(String[] args) {
        Logger log = LoggerFactory.getLogger(LogFormatTest.class);
        MDC.put("requestId", "req-42");
        log.info("placed pod {} on {}", "p1", "gpu-07");
        MDC.remove("requestId");
        log.info("outside any request");
        log.warn("pod \"{}\"", "a\nforged line");
    }

    @Test
    void textLinesCarryAnIsoDateWithItsZoneAndTheRequestId() throws Exception {
        List<String> out = List.of(run("text").split("\n(?=\\d{4}-)"));
        assertThat(out).hasSize(3);
        assertThat(out.get(0)).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) INFO  \\[main] "
                + "g\\.c\\.o\\.LogFormatTest - request=req-42 placed pod p1 on gpu-07");
        assertThat(out.get(1)).as("no request: no empty request= field").endsWith("LogFormatTest - outside any request");
    }

    @Test
    void jsonIsOneObjectALineWithTheMessageTheLevelAndTheRequestId() throws Exception {
        List<String> out = run("json").lines().toList();
        assertThat(out).as("the hostile value's newline stays inside its JSON string").hasSize(3);
        JsonNode first = Json.mapper().readTree(out.get(0));
        assertThat(first.get("level").asText()).isEqualTo("INFO");
        assertThat(first.get("logger_name").asText()).isEqualTo(LogFormatTest.class.getName());
        assertThat(first.get("message").asText()).isEqualTo("placed pod p1 on gpu-07");
        assertThat(first.get("requestId").asText()).isEqualTo("req-42");
        assertThat(first.get("@timestamp").asText()).as("ISO-8601 with the zone offset, as in text")
                .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d)");
        assertThat(Json.mapper().readTree(out.get(1)).has("requestId")).as("no request: no requestId field").isFalse();
        assertThat(Json.mapper().readTree(out.get(2)).get("message").asText()).isEqualTo("pod \"a\nforged line\"");
    }

    /** Runs {@link #main} in a new JVM with GPUFLEET_LOG_FORMAT set; returns its standard output. */
    private static String run(String format) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LogFormatTest.class.getName());
        pb.environment().put("GPUFLEET_LOG_FORMAT", format);
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        return out;
    }
}
