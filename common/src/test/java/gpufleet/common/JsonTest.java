package gpufleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonMappingException;
import gpufleet.common.api.RouteSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    record Env(String name, String value) {}

    record Pod(String name, List<Env> env, List<String> args, Map<String, String> labels) {}

    @Test
    void aNulAnywhereInABodyIsRefusedNamingTheField() {
        assertThatThrownBy(() -> Json.mapper().readValue("""
                {"name":"p","env":[{"name":"A","value":"x\\u0000y"}]}""", Pod.class))
                .isInstanceOf(JsonMappingException.class)
                .satisfies(e -> assertThat(path((JsonMappingException) e)).isEqualTo("env[0].value"))
                .hasMessageContaining("contains a NUL character (\\u0000) at position 1");
        assertThatThrownBy(() -> Json.mapper().readValue("""
                {"name":"p","args":["ok","\\u0000"]}""", Pod.class))
                .satisfies(e -> assertThat(path((JsonMappingException) e)).isEqualTo("args[1]"));
        assertThatThrownBy(() -> Json.mapper().readValue("""
                {"name":"p","labels":{"a":"\\u0000"}}""", Pod.class))
                .satisfies(e -> assertThat(path((JsonMappingException) e)).isEqualTo("labels.a"));
        assertThatThrownBy(() -> Json.mapper().readValue("""
                {"namespace":"default","name":"web\\u0000","port":80}""", RouteSpec.class))
                .hasMessageContaining("NUL");
    }

    @Test
    void halfASurrogatePairIsNotTextButAWholeOneIs() throws Exception {
        assertThatThrownBy(() -> Json.mapper().readValue("""
                {"name":"a\\ud800b"}""", Pod.class))
                .hasMessageContaining("contains half of a UTF-16 surrogate pair (\\ud800) at position 1");
        assertThatThrownBy(() -> Json.mapper().readValue("""
                {"name":"\\udc00"}""", Pod.class))
                .hasMessageContaining("(\\udc00) at position 0");
        assertThat(Json.mapper().readValue("""
                {"name":"gpu \\ud83d\\ude80 ü"}""", Pod.class).name()).isEqualTo("gpu \uD83D\uDE80 ü");
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                sb.append(sb.length() > 0 ? "." : "").append(r.getFieldName());
            } else {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }
}
