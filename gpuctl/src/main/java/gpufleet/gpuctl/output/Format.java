package gpufleet.gpuctl.output;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.PrintWriter;
import java.util.Iterator;
import java.util.List;

/** What -o asks for: the wide table, or the API's own objects as JSON or YAML. */
public enum Format {
    WIDE, JSON, YAML;

    private static final ObjectMapper JSON_OUT = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper YAML_OUT = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

    /** The -o values, for shell completion. */
    public static final class Names implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of("wide", "json", "yaml").iterator();
        }
    }

    /** True when this format prints a document rather than a table. */
    public boolean document() {
        return this != WIDE;
    }

    public void print(JsonNode doc, PrintWriter out) {
        try {
            String text = (this == YAML ? YAML_OUT : JSON_OUT).writeValueAsString(doc);
            out.print(text.endsWith("\n") ? text : text + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
