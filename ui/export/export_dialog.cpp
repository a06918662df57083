#include "export/export_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>

namespace tl::ui {

struct ExportDialog::Impl {
    QComboBox* format = nullptr;
    QLineEdit* path = nullptr;
    QComboBox* scope = nullptr;
    QSpinBox *width = nullptr, *height = nullptr;
    QDoubleSpinBox *fps = nullptr, *t0 = nullptr, *t1 = nullptr;
    QCheckBox *csv = nullptr, *vtp = nullptr;
    ExportRequest base;
};

namespace {
// Format index -> (extension or folder, label).
const char* kFormats[] = {"MP4 video (H.264)", "GIF animation", "PNG sequence (folder)", "Frame data: CSV / VTK .vtp + .pvd (folder)"};

QString suggestPath(const QString& path, int format) {
    QString base = path;
    for (const char* ext : {".mp4", ".gif"})
        if (base.endsWith(ext, Qt::CaseInsensitive)) base.chop(4);
    while (base.endsWith('/')) base.chop(1);
    if (base.isEmpty()) base = "transportlab";
    switch (format) {
    case 0: return base + ".mp4";
    case 1: return base + ".gif";
    case 2: return base + "_frames/";
    default: return base + "_data/";
    }
}
}  // namespace

ExportDialog::ExportDialog(const QStringList& panelTitles, const ExportRequest& initial, QWidget* parent)
    : QDialog(parent), d_(new Impl) {
    setWindowTitle("Export");
    d_->base = initial;
    auto* form = new QFormLayout(this);
    d_->format = new QComboBox(this);
    d_->format->setObjectName("format");
    for (const char* f : kFormats) d_->format->addItem(f);
    form->addRow("format", d_->format);

    auto* pathRow = new QHBoxLayout;
    d_->path = new QLineEdit(initial.path, this);
    d_->path->setObjectName("path");
    pathRow->addWidget(d_->path, 1);
    auto* browse = new QToolButton(this);
    browse->setText(QString::fromUtf8("\u2026"));
    pathRow->addWidget(browse);
    form->addRow("save to", pathRow);

    d_->scope = new QComboBox(this);
    d_->scope->setObjectName("scope");
    d_->scope->addItem("all panels (the compare layout)");
    for (const QString& t : panelTitles) d_->scope->addItem("panel: " + t);
    d_->scope->setCurrentIndex(initial.render.panel + 1);
    form->addRow("what", d_->scope);

    auto* size = new QHBoxLayout;
    d_->width = new QSpinBox(this);
    d_->width->setRange(16, 7680);
    d_->width->setSingleStep(2);
    d_->width->setValue(initial.render.width);
    d_->height = new QSpinBox(this);
    d_->height->setRange(16, 4320);
    d_->height->setSingleStep(2);
    d_->height->setValue(initial.render.height);
    size->addWidget(d_->width);
    size->addWidget(new QLabel(QString::fromUtf8("\u00D7"), this));
    size->addWidget(d_->height);
    size->addStretch();
    form->addRow("size (pixels)", size);
    d_->fps = new QDoubleSpinBox(this);
    d_->fps->setRange(1, 120);
    d_->fps->setValue(initial.render.fps);
    form->addRow("frames per second", d_->fps);
    auto* range = new QHBoxLayout;
    d_->t0 = new QDoubleSpinBox(this);
    d_->t1 = new QDoubleSpinBox(this);
    for (auto* s : {d_->t0, d_->t1}) {
        s->setRange(0, 1);
        s->setSingleStep(0.05);
        s->setDecimals(3);
    }
    d_->t0->setValue(initial.render.t0);
    d_->t1->setValue(initial.render.t1);
    range->addWidget(d_->t0);
    range->addWidget(new QLabel("to", this));
    range->addWidget(d_->t1);
    range->addStretch();
    form->addRow("time from", range);
    auto* data = new QHBoxLayout;
    d_->csv = new QCheckBox("CSV", this);
    d_->csv->setChecked(initial.csv);
    d_->vtp = new QCheckBox("VTK XML (.vtp + .pvd for ParaView)", this);
    d_->vtp->setChecked(initial.vtp);
    data->addWidget(d_->csv);
    data->addWidget(d_->vtp);
    data->addStretch();
    form->addRow("data files", data);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText("Export");
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        if (d_->path->text().trimmed().isEmpty()) return QMessageBox::warning(this, "Export", "Choose where to save."), void();
        if (d_->format->currentIndex() == 0 && (d_->width->value() % 2 || d_->height->value() % 2))
            return QMessageBox::warning(this, "Export", "H.264 needs an even width and height."), void();
        if (d_->t0->value() > d_->t1->value()) return QMessageBox::warning(this, "Export", "The time range is empty (from > to)."), void();
        if (d_->format->currentIndex() == 3 && !d_->csv->isChecked() && !d_->vtp->isChecked())
            return QMessageBox::warning(this, "Export", "Choose CSV, VTK XML or both."), void();
        accept();
    });
    connect(d_->format, &QComboBox::currentIndexChanged, this, [this](int f) {
        d_->path->setText(suggestPath(d_->path->text(), f));
        updateEnabled();
    });
    connect(browse, &QToolButton::clicked, this, [this] {
        const int f = d_->format->currentIndex();
        QString p;
        if (f <= 1)
            p = QFileDialog::getSaveFileName(this, "Export animation", d_->path->text(), f == 0 ? "MP4 video (*.mp4)" : "GIF (*.gif)");
        else {
            p = QFileDialog::getSaveFileName(this, "Export into a new folder", d_->path->text());
            if (!p.isEmpty() && !p.endsWith('/')) p += '/';
        }
        if (!p.isEmpty()) d_->path->setText(p);
    });
    const int f = initial.kind == ExportRequest::Kind::Data ? 3
                  : initial.path.endsWith(".gif", Qt::CaseInsensitive) ? 1
                  : initial.path.endsWith('/')                         ? 2
                                                                       : 0;
    d_->format->setCurrentIndex(f);
    d_->path->setText(initial.path.isEmpty() ? suggestPath("transportlab", f) : initial.path);
    updateEnabled();
}

void ExportDialog::updateEnabled() {
    const bool data = d_->format->currentIndex() == 3;
    for (QWidget* w : std::initializer_list<QWidget*>{d_->scope, d_->width, d_->height, d_->fps, d_->t0, d_->t1}) w->setEnabled(!data);
    d_->csv->setEnabled(data);
    d_->vtp->setEnabled(data);
}

ExportRequest ExportDialog::request() const {
    ExportRequest r = d_->base;
    r.kind = d_->format->currentIndex() == 3 ? ExportRequest::Kind::Data : ExportRequest::Kind::Animation;
    r.path = d_->path->text().trimmed();
    r.render.panel = d_->scope->currentIndex() - 1;
    r.render.width = d_->width->value();
    r.render.height = d_->height->value();
    r.render.fps = d_->fps->value();
    r.render.t0 = d_->t0->value();
    r.render.t1 = d_->t1->value();
    r.csv = d_->csv->isChecked();
    r.vtp = d_->vtp->isChecked();
    return r;
}

}  // namespace tl::ui
