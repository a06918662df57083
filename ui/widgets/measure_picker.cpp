#include "widgets/measure_picker.h"
#include "widgets/retire_widget.h"

#include <QComboBox>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPainter>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <map>

#include "measure/spec.h"
#include "util/error.h"

namespace tl::ui {

namespace {
const QString kCsv = "CSV file";
const QStringList kImageSuffixes = {"png", "pgm", "jpg", "jpeg"};
}  // namespace

struct MeasurePicker::Impl {
    QComboBox* kind = nullptr;
    QWidget* keysBox = nullptr;
    QFormLayout* keys = nullptr;
    std::map<std::string, QLineEdit*> fields;
    QString fieldsKind;  // the kind the fields were built for
    QLabel* preview = nullptr;
    QLabel* message = nullptr;
    QString spec, baseDir, error;
    bool loading = false;
};

MeasurePicker::MeasurePicker(const QString& title, QWidget* parent) : QGroupBox(title, parent), d_(new Impl) {
    setAcceptDrops(true);
    auto* outer = new QHBoxLayout(this);
    auto* left = new QVBoxLayout;
    d_->kind = new QComboBox(this);
    d_->kind->setObjectName("kind");
    d_->kind->addItem(kCsv);
    for (const auto& g : generators()) {
        d_->kind->addItem(QString::fromStdString(g.name));
        d_->kind->setItemData(d_->kind->count() - 1, QString::fromStdString(g.help), Qt::ToolTipRole);
    }
    left->addWidget(d_->kind);
    d_->keysBox = new QWidget(this);
    d_->keys = new QFormLayout(d_->keysBox);
    d_->keys->setContentsMargins(0, 0, 0, 0);
    left->addWidget(d_->keysBox);
    d_->message = new QLabel(this);
    d_->message->setWordWrap(true);
    d_->message->setStyleSheet("color: #ff8a80;");
    d_->message->hide();
    left->addWidget(d_->message);
    left->addStretch();
    outer->addLayout(left, 1);
    d_->preview = new QLabel(this);
    d_->preview->setFixedSize(96, 96);
    d_->preview->setToolTip("Preview of the samples (drop a CSV or image file here)");
    outer->addWidget(d_->preview, 0, Qt::AlignTop);
    connect(d_->kind, &QComboBox::currentIndexChanged, this, [this] {
        if (d_->loading) return;
        // The sample size and seed carry over to the new kind (other keys mean different things per kind).
        std::map<std::string, QString> kept;
        for (const auto& [name, field] : d_->fields)
            if (!field->text().trimmed().isEmpty() && (name == "n" || name == "seed")) kept[name] = field->text();
        rebuildKeys(d_->kind->currentText());
        for (const auto& [name, value] : kept) {
            auto it = d_->fields.find(name);
            if (it != d_->fields.end()) it->second->setText(value);
        }
        commit();
    });
}

MeasurePicker::~MeasurePicker() { delete d_; }

bool MeasurePicker::acceptsFile(const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == "csv" || kImageSuffixes.contains(suffix);
}

QString MeasurePicker::spec() const { return d_->spec; }
QString MeasurePicker::error() const { return d_->error; }

// The fields of one kind, emptied; built anew only when the kind changes. Never deleted at once:
// setSpec runs inside a field's own editingFinished, emitted from QLineEdit::focusOutEvent (a field
// edited, then the focus moved: commit -> specChanged -> the window's new scenario -> setSpec), and a
// synchronous QFormLayout::removeRow deleted that field there; focusOutEvent then went on in freed
// memory (the monkey's SIGSEGV in QWidget::focusOutEvent, issue 18). The old rows go by the event
// loop (retire_widget.h).
void MeasurePicker::rebuildKeys(const QString& kind) {
    if (kind == d_->fieldsKind && !d_->fields.empty()) {
        for (auto& [name, field] : d_->fields) field->clear();
        return;
    }
    while (d_->keys->rowCount() > 0) {
        const QFormLayout::TakeRowResult row = d_->keys->takeRow(0);
        for (QLayoutItem* item : {row.labelItem, row.fieldItem}) {
            if (!item) continue;
            if (QWidget* w = item->widget()) retireWidget(w);
            delete item;  // the layout item only; its widget goes by the event loop
        }
    }
    d_->fields.clear();
    d_->fieldsKind = kind;
    auto addField = [&](const std::string& name, const QString& placeholder, const QString& help, bool file) {
        auto* e = new QLineEdit(d_->keysBox);
        e->setObjectName(QString::fromStdString(name));
        e->setPlaceholderText(placeholder);
        e->setToolTip(help);
        connect(e, &QLineEdit::editingFinished, this, [this] { commit(); });
        d_->fields[name] = e;
        if (!file) return d_->keys->addRow(QString::fromStdString(name), e);
        auto* row = new QWidget(d_->keysBox);
        auto* h = new QHBoxLayout(row);
        h->setContentsMargins(0, 0, 0, 0);
        h->addWidget(e, 1);
        auto* browse = new QToolButton(row);
        browse->setText(QString::fromUtf8("\u2026"));
        browse->setToolTip("Choose a file");
        const bool csv = name == "file";
        connect(browse, &QToolButton::clicked, this, [this, e, csv] {
            const QString f = QFileDialog::getOpenFileName(this, csv ? "Point cloud (CSV)" : "Image as a density", d_->baseDir,
                                                           csv ? "CSV files (*.csv)" : "Images (*.png *.pgm *.jpg *.jpeg)");
            if (f.isEmpty()) return;
            e->setText(f);
            commit();
        });
        h->addWidget(browse);
        d_->keys->addRow(QString::fromStdString(name), row);
    };
    if (kind == kCsv) {
        addField("file", "points.csv", "CSV: x,y[,z][,weight] rows (header optional)", true);
        return;
    }
    for (const auto& g : generators()) {
        if (QString::fromStdString(g.name) != kind) continue;
        for (const auto& k : g.keys)
            addField(k.name, k.defaultValue.empty() ? (k.name == "path" ? QString("required") : QString::fromUtf8("\u2014")) : QString::fromStdString(k.defaultValue), QString::fromStdString(k.help),
                     k.name == "path");
    }
}

void MeasurePicker::setSpec(const QString& spec, const QString& baseDir) {
    d_->loading = true;
    d_->baseDir = baseDir;
    d_->spec = spec;
    d_->error.clear();
    const bool csv = spec.endsWith(".csv", Qt::CaseInsensitive) && !spec.contains(':');
    const QString kind = csv ? kCsv : spec.section(':', 0, 0);
    d_->kind->setCurrentText(kind);
    rebuildKeys(kind);
    if (csv) d_->fields["file"]->setText(spec);
    else {
        // Fill the fields from "kind:key=value,...".
        const QString rest = spec.section(':', 1);
        for (const QString& kv : rest.split(',', Qt::SkipEmptyParts)) {
            const QString key = kv.section('=', 0, 0), value = kv.section('=', 1);
            auto it = d_->fields.find(key.toStdString());
            if (it != d_->fields.end()) it->second->setText(value);
        }
    }
    d_->loading = false;
    d_->message->hide();
    updatePreview();
}

bool MeasurePicker::setFile(const QString& path) {
    if (!acceptsFile(path)) {
        d_->error = "'" + QFileInfo(path).fileName() + "' is neither a CSV file nor an image (PNG, PGM, JPEG)";
        d_->message->setText(d_->error);
        d_->message->show();
        return false;
    }
    const bool csv = QFileInfo(path).suffix().compare("csv", Qt::CaseInsensitive) == 0;
    d_->loading = true;
    d_->kind->setCurrentText(csv ? kCsv : "image");
    rebuildKeys(d_->kind->currentText());
    d_->fields[csv ? "file" : "path"]->setText(path);
    d_->loading = false;
    commit();
    return d_->error.isEmpty();
}

void MeasurePicker::commit() {
    if (d_->loading) return;
    QString spec;
    const QString kind = d_->kind->currentText();
    if (kind == kCsv) spec = d_->fields["file"]->text().trimmed();
    else {
        spec = kind;
        QStringList kv;
        for (const auto& g : generators())
            if (QString::fromStdString(g.name) == kind)
                for (const auto& k : g.keys) {
                    const QString v = d_->fields[k.name]->text().trimmed();
                    if (!v.isEmpty()) kv << QString::fromStdString(k.name) + "=" + v;
                }
        if (!kv.isEmpty()) spec += ":" + kv.join(',');
    }
    // Validate by sampling (the same parser the scenario files use).
    try {
        if (spec.isEmpty()) throw Error("choose a CSV file");
        (void)sampleMeasure(spec.toStdString(), d_->baseDir.toStdString());
    } catch (const std::exception& e) {
        d_->error = QString::fromUtf8(e.what());
        d_->message->setText(d_->error);
        d_->message->show();
        return;
    }
    d_->error.clear();
    d_->message->hide();
    if (spec == d_->spec) return;
    d_->spec = spec;
    updatePreview();
    emit specChanged(spec);
}

void MeasurePicker::updatePreview() {
    QPixmap pm(d_->preview->size());
    pm.fill(QColor(20, 22, 30));
    try {
        const Measure m = sampleMeasure(d_->spec.toStdString(), d_->baseDir.toStdString());
        const PointCloud& c = m.cloud;
        double lo[2] = {1e300, 1e300}, hi[2] = {-1e300, -1e300};
        for (std::size_t i = 0; i < c.size(); ++i)
            for (int k = 0; k < std::min(c.dim, 2); ++k) {
                lo[k] = std::min(lo[k], c.point(i)[k]);
                hi[k] = std::max(hi[k], c.point(i)[k]);
            }
        if (c.dim == 1) lo[1] = -1, hi[1] = 1;
        const double span = std::max({hi[0] - lo[0], hi[1] - lo[1], 1e-12});
        QPainter p(&pm);
        p.setRenderHint(QPainter::Antialiasing);
        p.setPen(Qt::NoPen);
        p.setBrush(QColor(120, 180, 250, 150));
        const double w = pm.width() - 8, cx = 0.5 * (lo[0] + hi[0]), cy = 0.5 * (lo[1] + hi[1]);
        const std::size_t stride = std::max<std::size_t>(1, c.size() / 1500);
        for (std::size_t i = 0; i < c.size(); i += stride) {
            const double x = 4 + w * (0.5 + (c.point(i)[0] - cx) / span);
            const double y = 4 + w * (0.5 - ((c.dim > 1 ? c.point(i)[1] : 0.0) - cy) / span);
            p.drawEllipse(QPointF(x, y), 1.2, 1.2);
        }
    } catch (const std::exception&) {
        // no preview for an invalid entry
    }
    d_->preview->setPixmap(pm);
}

void MeasurePicker::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls() && !e->mimeData()->urls().isEmpty() && acceptsFile(e->mimeData()->urls().front().toLocalFile()))
        e->acceptProposedAction();
}

void MeasurePicker::dropEvent(QDropEvent* e) {
    if (!e->mimeData()->hasUrls() || e->mimeData()->urls().isEmpty()) return;
    setFile(e->mimeData()->urls().front().toLocalFile());
    e->acceptProposedAction();
}

}  // namespace tl::ui
