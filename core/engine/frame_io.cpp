#include "engine/frame_io.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "util/error.h"
#include "util/files.h"

namespace tl {

namespace {

namespace fs = std::filesystem;

void appendNumber(std::string& s, double v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    s.append(buf, r.ptr);
}

void appendXmlEscaped(std::string& s, const std::string& text) {
    for (char c : text) {
        switch (c) {
            case '&': s += "&amp;"; break;
            case '<': s += "&lt;"; break;
            case '>': s += "&gt;"; break;
            case '"': s += "&quot;"; break;
            case '\'': s += "&apos;"; break;
            default: s += c;
        }
    }
}

void checkFrame(const Frame& f) {
    if (f.dim < 1 || f.dim > 3) throw Error("frame at t = " + std::to_string(f.t) + ": dimension " + std::to_string(f.dim) + " is not 1, 2 or 3");
    if (f.positions.size() != f.rows() * f.dim)
        throw Error("frame at t = " + std::to_string(f.t) + ": " + std::to_string(f.positions.size()) + " coordinates for " +
                    std::to_string(f.rows()) + " weights in dimension " + std::to_string(f.dim));
    if (!f.velocities.empty() && f.velocities.size() != f.positions.size())
        throw Error("frame at t = " + std::to_string(f.t) + ": " + std::to_string(f.velocities.size()) + " velocity components for " +
                    std::to_string(f.positions.size()) + " coordinates");
}

// Appends rows of 3 components from a rows x dim array (zero padding), 3 values per line.
void appendPadded3(std::string& s, const std::vector<double>& a, std::size_t rows, int dim) {
    for (std::size_t i = 0; i < rows; ++i) {
        s += "          ";
        for (int k = 0; k < 3; ++k) {
            if (k) s += ' ';
            if (k < dim) appendNumber(s, a[i * dim + k]);
            else s += '0';
        }
        s += '\n';
    }
}

// Appends n values produced by value(i), 8 per line.
template <class F>
void appendValues(std::string& s, std::size_t n, F value) {
    for (std::size_t i = 0; i < n; ++i) {
        s += (i % 8 == 0) ? "          " : " ";
        value(s, i);
        if (i % 8 == 7 || i + 1 == n) s += '\n';
    }
}

std::string frameName(std::size_t f, const char* ext, const char* stem = "frame") {
    char name[64];
    std::snprintf(name, sizeof name, "%s_%04zu.%s", stem, f, ext);
    return name;
}

void checkGrid(const Frame& f) {
    const DensityGrid& g = *f.density;
    if (g.cells < 1 || !(g.extent > 0) || g.values.size() != static_cast<std::size_t>(g.cells) * g.cells)
        throw Error("frame at t = " + std::to_string(f.t) + ": a density grid of " + std::to_string(g.values.size()) + " values for " +
                    std::to_string(g.cells) + " cells per side");
}

}  // namespace

std::string frameCsv(const Frame& f) {
    static const char* names[3] = {"x", "y", "z"};
    std::string s;
    s.reserve(f.rows() * f.dim * 12 + 16);
    for (int k = 0; k < f.dim; ++k) {
        if (k) s += ',';
        s += names[k];
    }
    s += '\n';
    for (std::size_t i = 0; i < f.rows(); ++i) {
        for (int k = 0; k < f.dim; ++k) {
            if (k) s += ',';
            appendNumber(s, f.positions[i * f.dim + k]);
        }
        s += '\n';
    }
    return s;
}

std::string densityCsv(const Frame& f) {
    if (!f.density) throw Error("frame at t = " + std::to_string(f.t) + " has no density grid");
    checkGrid(f);
    const DensityGrid& g = *f.density;
    std::string s = "x,y,density\n";
    s.reserve(g.values.size() * 40 + 16);
    for (int iy = 0; iy < g.cells; ++iy)
        for (int ix = 0; ix < g.cells; ++ix) {
            appendNumber(s, g.center(ix));
            s += ',';
            appendNumber(s, g.center(iy));
            s += ',';
            appendNumber(s, g.values[static_cast<std::size_t>(iy) * g.cells + ix]);
            s += '\n';
        }
    return s;
}

std::string densityVti(const Frame& f) {
    if (!f.density) throw Error("frame at t = " + std::to_string(f.t) + " has no density grid");
    checkGrid(f);
    const DensityGrid& g = *f.density;
    const std::string ext = "0 " + std::to_string(g.cells - 1) + " 0 " + std::to_string(g.cells - 1) + " 0 0";
    std::string s = "<?xml version=\"1.0\"?>\n<VTKFile type=\"ImageData\" version=\"0.1\" byte_order=\"LittleEndian\">\n";
    s += "  <ImageData WholeExtent=\"" + ext + "\" Origin=\"";
    appendNumber(s, g.center(0));
    s += ' ';
    appendNumber(s, g.center(0));
    s += " 0\" Spacing=\"";
    appendNumber(s, g.h());
    s += ' ';
    appendNumber(s, g.h());
    s += " 1\">\n";
    s += "    <FieldData>\n      <DataArray type=\"Float64\" Name=\"TimeValue\" NumberOfTuples=\"1\" format=\"ascii\">";
    appendNumber(s, f.t);
    s += "</DataArray>\n    </FieldData>\n";
    s += "    <Piece Extent=\"" + ext + "\">\n      <PointData Scalars=\"density\">\n";
    s += "        <DataArray type=\"Float64\" Name=\"density\" format=\"ascii\">\n";
    appendValues(s, g.values.size(), [&](std::string& o, std::size_t i) { appendNumber(o, g.values[i]); });
    s += "        </DataArray>\n      </PointData>\n      <CellData>\n      </CellData>\n    </Piece>\n  </ImageData>\n</VTKFile>\n";
    return s;
}

std::string frameVtp(const Frame& f) {
    checkFrame(f);
    const std::size_t n = f.rows();
    const bool hasVelocity = !f.velocities.empty();
    const std::string count = std::to_string(n);
    std::string s;
    s.reserve(n * (f.dim * 24 + 40 + (hasVelocity ? 100 : 0)) + 1024);
    s += "<?xml version=\"1.0\"?>\n";
    s += "<VTKFile type=\"PolyData\" version=\"0.1\" byte_order=\"LittleEndian\">\n";
    s += "  <PolyData>\n";
    // Field data belongs to the data set (VTK's reader ignores it inside a Piece).
    s += "    <FieldData>\n      <DataArray type=\"Float64\" Name=\"TimeValue\" NumberOfTuples=\"1\" format=\"ascii\">";
    appendNumber(s, f.t);
    s += "</DataArray>\n    </FieldData>\n";
    s += "    <Piece NumberOfPoints=\"" + count + "\" NumberOfVerts=\"" + count +
         "\" NumberOfLines=\"0\" NumberOfStrips=\"0\" NumberOfPolys=\"0\">\n";
    s += hasVelocity ? "      <PointData Scalars=\"weight\" Vectors=\"velocity\">\n" : "      <PointData Scalars=\"weight\">\n";
    s += "        <DataArray type=\"Float64\" Name=\"weight\" format=\"ascii\">\n";
    appendValues(s, n, [&](std::string& o, std::size_t i) { appendNumber(o, f.weights[i]); });
    s += "        </DataArray>\n";
    if (hasVelocity) {
        s += "        <DataArray type=\"Float64\" Name=\"velocity\" NumberOfComponents=\"3\" format=\"ascii\">\n";
        appendPadded3(s, f.velocities, n, f.dim);
        s += "        </DataArray>\n";
        s += "        <DataArray type=\"Float64\" Name=\"speed\" format=\"ascii\">\n";
        appendValues(s, n, [&](std::string& o, std::size_t i) {
            double q = 0;
            for (int k = 0; k < f.dim; ++k) q += f.velocities[i * f.dim + k] * f.velocities[i * f.dim + k];
            appendNumber(o, std::sqrt(q));
        });
        s += "        </DataArray>\n";
    }
    s += "      </PointData>\n";
    s += "      <Points>\n        <DataArray type=\"Float64\" Name=\"Points\" NumberOfComponents=\"3\" format=\"ascii\">\n";
    appendPadded3(s, f.positions, n, f.dim);
    s += "        </DataArray>\n      </Points>\n";
    s += "      <Verts>\n        <DataArray type=\"Int64\" Name=\"connectivity\" format=\"ascii\">\n";
    appendValues(s, n, [](std::string& o, std::size_t i) { o += std::to_string(i); });
    s += "        </DataArray>\n        <DataArray type=\"Int64\" Name=\"offsets\" format=\"ascii\">\n";
    appendValues(s, n, [](std::string& o, std::size_t i) { o += std::to_string(i + 1); });
    s += "        </DataArray>\n      </Verts>\n";
    s += "    </Piece>\n  </PolyData>\n</VTKFile>\n";
    return s;
}

std::string pvdIndex(const std::vector<std::pair<double, std::string>>& timeAndFile) {
    std::string s = "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\" byte_order=\"LittleEndian\">\n  <Collection>\n";
    for (const auto& [t, file] : timeAndFile) {
        s += "    <DataSet timestep=\"";
        appendNumber(s, t);
        s += "\" group=\"\" part=\"0\" file=\"";
        appendXmlEscaped(s, file);
        s += "\"/>\n";
    }
    s += "  </Collection>\n</VTKFile>\n";
    return s;
}

std::string metricsCsv(const Scenario& scenario, const std::vector<std::vector<FramePtr>>& panels) {
    if (panels.size() > scenario.panels.size())
        throw Error(std::to_string(panels.size()) + " panels of frames for a scenario with " + std::to_string(scenario.panels.size()) +
                    " panels");
    std::vector<std::string> columns;
    for (const auto& frames : panels)
        for (const auto& f : frames)
            for (const auto& [name, v] : f->metrics)
                if (std::find(columns.begin(), columns.end(), name) == columns.end()) columns.push_back(name);
    // Always present (empty where a panel has no free energy / no density): scripts can rely on them.
    for (const char* fixed : {"energy", "entropy"})
        if (std::find(columns.begin(), columns.end(), fixed) == columns.end()) columns.push_back(fixed);
    std::string s = "panel,dynamics,frame,t";
    for (const auto& c : columns) s += "," + c;
    s += "\n";
    for (std::size_t k = 0; k < panels.size(); ++k)
        for (std::size_t f = 0; f < panels[k].size(); ++f) {
            s += std::to_string(k) + "," + scenario.panels[k].dynamics + "," + std::to_string(f) + ",";
            appendNumber(s, panels[k][f]->t);
            for (const auto& c : columns) {
                s += ",";
                const double v = panels[k][f]->metric(c);
                if (std::isfinite(v)) appendNumber(s, v);
            }
            s += "\n";
        }
    return s;
}

bool writeFrameData(const std::string& dir, const Scenario& scenario, const std::vector<std::vector<FramePtr>>& panels,
                    const FrameDataOptions& options) {
    if (!options.csv && !options.vtp) throw Error("nothing to export: choose CSV and/or VTP frames");
    const std::string metrics = metricsCsv(scenario, panels);  // validates the panel count first
    std::size_t total = 0, done = 0;
    for (const auto& frames : panels) total += frames.size();
    const fs::path root(dir);
    for (std::size_t k = 0; k < panels.size(); ++k) {
        const std::string panel = "panel" + std::to_string(k);
        std::error_code ec;
        fs::create_directory(root / panel, ec);
        if (ec) throw Error("cannot create '" + (root / panel).string() + "': " + ec.message());
        std::vector<std::pair<double, std::string>> index;
        for (std::size_t f = 0; f < panels[k].size(); ++f) {
            const Frame& frame = *panels[k][f];
            const bool particles = frame.rows() > 0 || !frame.density;
            if (options.csv && particles) writeFileAtomic((root / panel / frameName(f, "csv")).string(), frameCsv(frame));
            if (options.csv && frame.density) writeFileAtomic((root / panel / frameName(f, "csv", "density")).string(), densityCsv(frame));
            if (options.vtp && particles) {
                const std::string name = frameName(f, "vtp");
                writeFileAtomic((root / panel / name).string(), frameVtp(frame));
                index.emplace_back(frame.t, panel + "/" + name);
            }
            if (options.vtp && frame.density) {
                const std::string name = frameName(f, "vti", "density");
                writeFileAtomic((root / panel / name).string(), densityVti(frame));
                index.emplace_back(frame.t, panel + "/" + name);
            }
            ++done;
            if (options.progress && !options.progress(total ? double(done) / double(total) : 1.0)) return false;
        }
        if (options.vtp) writeFileAtomic((root / (panel + ".pvd")).string(), pvdIndex(index));
    }
    writeFileAtomic((root / "metrics.csv").string(), metrics);
    writeFileAtomic((root / "scenario.json").string(), scenarioToJson(scenario));
    return true;
}

bool exportFrameData(const std::string& outDir, const Scenario& scenario, const std::vector<std::vector<FramePtr>>& panels,
                     bool csv, bool vtp, const std::function<bool(double)>& progress) {
    if (!csv && !vtp) throw Error("nothing to export to '" + outDir + "': choose CSV and/or VTP frames");
    StagedFolderOptions stage;
    stage.label = "output folder '" + outDir + "'";
    StagedFolder staged(outDir, stage);
    FrameDataOptions options;
    options.csv = csv;
    options.vtp = vtp;
    options.progress = progress;
    if (!writeFrameData(staged.path().string(), scenario, panels, options)) return false;  // ~StagedFolder removes it
    staged.commit();
    return true;
}

}  // namespace tl
