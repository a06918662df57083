// ParamForm: a form generated from parameter declarations (ParamSpec): a number field per Real
// (scientific notation accepted), a spin box per Integer, a combo per Choice, a check box per Boolean,
// each with the declaration's help as tooltip; rows of keys that do not apply to the current choices
// (ParamSpec::appliesWhen) are hidden. Values are validated by the same checkParam() the
// scenario files use; an invalid entry is marked red with the message and not emitted.
#pragma once
#include <QWidget>
#include <vector>

#include "engine/params.h"

class QFormLayout;

namespace tl::ui {

class ParamForm : public QWidget {
    Q_OBJECT
public:
    ParamForm(std::vector<ParamSpec> specs, const ParamValues& values, QWidget* parent = nullptr);
    ParamValues values() const;
    void setValues(const ParamValues& values);  // no signal
    const std::vector<ParamSpec>& specs() const;
    // The editor widget of a parameter (for tests), or nullptr.
    QWidget* editor(const QString& name) const;
    // False when the key does not apply to the current choices (its row is hidden).
    bool isShown(const QString& name) const;

signals:
    // A valid edit finished (a number typed and confirmed, a combo / box changed).
    void valuesChanged(const tl::ParamValues& values);

private:
    void commit(std::size_t k);
    void updateVisibility();
    QFormLayout* form_ = nullptr;
    std::vector<ParamSpec> specs_;
    std::vector<QWidget*> editors_;
    ParamValues values_;
    bool loading_ = false;
};

}  // namespace tl::ui
