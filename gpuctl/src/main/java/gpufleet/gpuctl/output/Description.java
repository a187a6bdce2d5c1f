package gpufleet.gpuctl.output;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** kubectl describe's layout: aligned "Field:  value" lines, then titled sections holding indented tables. */
public final class Description {
    private final Instant now;
    private final List<String[]> fields = new ArrayList<>();
    private final StringBuilder sections = new StringBuilder();

    public Description(Instant now) {
        this.now = now;
    }

    public Description field(String name, Object value) {
        fields.add(new String[] {name + ":", value == null ? "<none>" : value instanceof Instant t
                ? t + " (" + Age.since(t, now) + " ago)" : value.toString()});
        return this;
    }

    /** A titled table, or "Title:  <none>" when it has no rows. */
    public Description section(String title, Table table) {
        if (table.isEmpty()) {
            sections.append(title).append(":  <none>\n");
            return this;
        }
        StringWriter text = new StringWriter();
        table.print(new PrintWriter(text), now);
        sections.append(title).append(":\n");
        text.toString().lines().forEach(l -> sections.append("  ").append(l).append('\n'));
        return this;
    }

    public void print(PrintWriter out) {
        int width = fields.stream().mapToInt(f -> f[0].length()).max().orElse(0);
        for (String[] f : fields) {
            out.println(f[0] + " ".repeat(width - f[0].length() + 2) + f[1]);
        }
        out.print(sections);
    }
}
