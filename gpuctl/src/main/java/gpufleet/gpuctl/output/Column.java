package gpufleet.gpuctl.output;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.function.Function;

/**
 * One column of a table: its header, whether only {@code -o wide} shows it, and what it reads
 * from an item. A value is a String, a Long (sorted as a number) or an Instant (shown as an age).
 */
public record Column(String header, boolean wide, Function<JsonNode, Object> value) {
    public static Column of(String header, Function<JsonNode, Object> value) {
        return new Column(header, false, value);
    }

    public static Column wide(String header, Function<JsonNode, Object> value) {
        return new Column(header, true, value);
    }

    /** A text field of the item, or null when it is absent. */
    public static Object text(JsonNode item, String field) {
        JsonNode v = item.path(field);
        return v.isMissingNode() || v.isNull() ? null : v.asText();
    }

    public static Object number(JsonNode item, String field) {
        JsonNode v = item.path(field);
        return v.isNumber() ? (Object) v.asLong() : null;
    }

    public static Object time(JsonNode item, String field) {
        JsonNode v = item.path(field);
        return v.isTextual() ? Instant.parse(v.asText()) : null;
    }
}
