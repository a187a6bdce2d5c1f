package gpufleet.control.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;

/**
 * One line chart as the page drew it: the times and each series' values it was drawn from, and
 * the points of its lines read back from the SVG into values through the chart's own value axis.
 */
record ChartOnPage(List<Long> times, Map<String, List<Double>> values, Map<String, List<Double>> drawn, double halfPixel) {

    /** Reads the chart in {@code <figure id=figureId>} in one script call. */
    @SuppressWarnings("unchecked")
    static ChartOnPage read(Browser browser, String figureId) {
        Map<String, Object> raw = (Map<String, Object>) browser.script("""
                const svg = document.querySelector('#' + arguments[0] + ' svg');
                if (!svg) return null;
                // Each grid line of the value axis is followed by its tick label.
                const lines = [...svg.querySelectorAll('line.grid')];
                const grid = lines.map((l) => parseFloat(l.getAttribute('y1')));
                const ticks = lines.map((l) => parseFloat(l.nextElementSibling.textContent));
                const series = [...svg.querySelectorAll('g.series')].map((g) => ({
                  label: g.dataset.label, values: g.dataset.values,
                  ys: [...g.querySelectorAll('path')].flatMap((p) => p.getAttribute('d').slice(1).split(' L')
                        .map((xy) => parseFloat(xy.split(' ')[1])))
                      .concat([...g.querySelectorAll('circle')].map((c) => parseFloat(c.getAttribute('cy'))))}));
                return { times: svg.dataset.times, ticks, grid, series };""", figureId);
        assertThat(raw).as("a chart drawn in #" + figureId).isNotNull();
        List<Long> times = new ArrayList<>();
        for (String t : ((String) raw.get("times")).split(",")) {
            times.add(Long.parseLong(t));
        }
        List<Number> ticks = (List<Number>) raw.get("ticks");
        List<Number> grid = (List<Number>) raw.get("grid");
        // The lowest and highest grid lines carry the axis' first and last tick values.
        double y0 = grid.get(0).doubleValue();
        double yTop = grid.get(grid.size() - 1).doubleValue();
        double v0 = ticks.get(0).doubleValue();
        double vTop = ticks.get(ticks.size() - 1).doubleValue();
        Map<String, List<Double>> values = new LinkedHashMap<>();
        Map<String, List<Double>> drawn = new LinkedHashMap<>();
        for (Map<String, Object> s : (List<Map<String, Object>>) raw.get("series")) {
            String label = (String) s.get("label");
            List<Double> v = new ArrayList<>();
            for (String one : ((String) s.get("values")).split(",", -1)) {
                v.add(one.isEmpty() ? null : Double.parseDouble(one));
            }
            values.put(label, v);
            drawn.put(label, ((List<Number>) s.get("ys")).stream()
                    .map(y -> v0 + (y.doubleValue() - y0) / (yTop - y0) * (vTop - v0)).toList());
        }
        return new ChartOnPage(times, values, drawn, Math.abs((vTop - v0) / (yTop - y0)) / 2);
    }

    /** The value series {@code label} was drawn with at {@code time}; fails if no point is at that time. */
    Double at(String label, Instant time) {
        int i = times.indexOf(time.toEpochMilli());
        assertThat(i).as("a point at " + time + " among " + times).isNotNegative();
        return values.get(label).get(i);
    }

    /** The value of the newest point: what the series shows for now. */
    Double latest(String label) {
        List<Double> v = values.get(label);
        return v.get(v.size() - 1);
    }

    /**
     * Checks that the line of {@code label} (a series without gaps, so one line) passes through its
     * values in order, within the half pixel the SVG's coordinates are rounded to.
     */
    void assertDrawnAsItsValues(String label) {
        List<Double> expected = values.get(label).stream().filter(v -> v != null).toList();
        List<Double> seen = drawn.get(label);
        assertThat(seen).as(label + ": one drawn point per value").hasSameSizeAs(expected);
        for (int i = 0; i < seen.size(); i++) {
            assertThat(seen.get(i)).as(label + " point " + i + " read back from the SVG")
                    .isCloseTo(expected.get(i), Offset.offset(halfPixel));
        }
    }
}
