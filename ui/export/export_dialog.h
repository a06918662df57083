// ExportDialog: what to export — an animation (MP4 / GIF / PNG sequence) of the compare layout or one
// panel at a chosen resolution, fps and time range, or the frames as data (CSV and/or VTK .vtp + .pvd,
// with the scenario JSON) — and where.
#pragma once
#include <QDialog>
#include <QStringList>

#include "export/render_animation.h"

namespace tl::ui {

struct ExportRequest {
    enum class Kind { Animation, Data } kind = Kind::Animation;
    QString path;  // file (.mp4 / .gif) or folder (PNG sequence, data)
    RenderSettings render;
    bool csv = true, vtp = true;
};

class ExportDialog : public QDialog {
    Q_OBJECT
public:
    ExportDialog(const QStringList& panelTitles, const ExportRequest& initial, QWidget* parent = nullptr);
    ExportRequest request() const;

private:
    struct Impl;
    Impl* d_;
    void updateEnabled();
};

}  // namespace tl::ui
