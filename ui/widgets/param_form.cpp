#include "widgets/param_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QSpinBox>
#include <limits>

#include "util/error.h"

namespace tl::ui {

ParamForm::ParamForm(std::vector<ParamSpec> specs, const ParamValues& values, QWidget* parent)
    : QWidget(parent), specs_(std::move(specs)), values_(values) {
    auto* form = form_ = new QFormLayout(this);
    form->setContentsMargins(0, 0, 0, 0);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    for (std::size_t k = 0; k < specs_.size(); ++k) {
        const ParamSpec& s = specs_[k];
        QWidget* w = nullptr;
        switch (s.type) {
        case ParamType::Real: {
            auto* e = new QLineEdit(this);
            connect(e, &QLineEdit::editingFinished, this, [this, k] { commit(k); });
            w = e;
            break;
        }
        case ParamType::Integer: {
            if (s.max > std::numeric_limits<int>::max() || s.min < std::numeric_limits<int>::min()) {
                // Beyond a spin box's int range (e.g. seeds): a text field, validated like the file keys.
                auto* e = new QLineEdit(this);
                connect(e, &QLineEdit::editingFinished, this, [this, k] { commit(k); });
                w = e;
                break;
            }
            auto* e = new QSpinBox(this);
            e->setRange(static_cast<int>(std::max<double>(s.min, std::numeric_limits<int>::min())),
                        static_cast<int>(std::min<double>(s.max, std::numeric_limits<int>::max())));
            e->setKeyboardTracking(false);  // one change per confirmed value, not per keystroke
            connect(e, &QSpinBox::valueChanged, this, [this, k] { commit(k); });
            w = e;
            break;
        }
        case ParamType::Choice: {
            auto* e = new QComboBox(this);
            for (const auto& c : s.choices) e->addItem(QString::fromStdString(c));
            connect(e, &QComboBox::currentIndexChanged, this, [this, k] { commit(k); });
            // An open choice ("image:PATH"): the user types the path into the box.
            bool open = false;
            for (const auto& c : s.choices) open = open || c.ends_with(":PATH");
            if (open) {
                e->setEditable(true);
                e->setInsertPolicy(QComboBox::NoInsert);
                connect(e->lineEdit(), &QLineEdit::editingFinished, this, [this, k] { commit(k); });
            }
            w = e;
            break;
        }
        case ParamType::Text: {
            auto* e = new QLineEdit(this);
            connect(e, &QLineEdit::editingFinished, this, [this, k] { commit(k); });
            w = e;
            break;
        }
        case ParamType::Boolean: {
            auto* e = new QCheckBox(this);
            connect(e, &QCheckBox::toggled, this, [this, k] { commit(k); });
            w = e;
            break;
        }
        }
        w->setObjectName(QString::fromStdString(s.name));
        const std::string when = appliesWhenText(s);
        w->setToolTip(QString::fromStdString(s.help + (when.empty() ? "" : " (" + when + ")")));
        editors_.push_back(w);
        form->addRow(QString::fromStdString(s.name), w);
    }
    setValues(values);
}

const std::vector<ParamSpec>& ParamForm::specs() const { return specs_; }
ParamValues ParamForm::values() const { return values_; }

QWidget* ParamForm::editor(const QString& name) const {
    for (std::size_t k = 0; k < specs_.size(); ++k)
        if (QString::fromStdString(specs_[k].name) == name) return editors_[k];
    return nullptr;
}

void ParamForm::setValues(const ParamValues& values) {
    loading_ = true;
    values_ = values;
    for (std::size_t k = 0; k < specs_.size(); ++k) {
        const ParamSpec& s = specs_[k];
        if (!values.has(s.name)) continue;
        const ParamValue& v = values.all().at(s.name);
        QWidget* w = editors_[k];
        if (auto* e = qobject_cast<QLineEdit*>(w)) {
            e->setText(QString::fromStdString(paramText(v)));
            e->setStyleSheet({});
        } else if (auto* e = qobject_cast<QSpinBox*>(w)) {
            e->setValue(static_cast<int>(values.integer(s.name)));
        } else if (auto* e = qobject_cast<QComboBox*>(w)) {
            e->setCurrentText(QString::fromStdString(values.choice(s.name)));
        } else if (auto* e = qobject_cast<QCheckBox*>(w)) {
            e->setChecked(values.flag(s.name));
        }
    }
    loading_ = false;
    updateVisibility();
}

void ParamForm::updateVisibility() {
    // Keys that do not matter for the current choices are hidden (ParamSpec::appliesWhen).
    for (std::size_t k = 0; k < specs_.size(); ++k) form_->setRowVisible(editors_[k], paramApplies(specs_[k], values_));
}

bool ParamForm::isShown(const QString& name) const {
    for (std::size_t k = 0; k < specs_.size(); ++k)
        if (QString::fromStdString(specs_[k].name) == name) return paramApplies(specs_[k], values_);
    return false;
}

void ParamForm::commit(std::size_t k) {
    if (loading_) return;
    const ParamSpec& s = specs_[k];
    QWidget* w = editors_[k];
    ParamValue v;
    if (auto* e = qobject_cast<QLineEdit*>(w); e && s.type == ParamType::Text) {
        v = e->text().trimmed().toStdString();
    } else if (auto* e = qobject_cast<QLineEdit*>(w)) {
        bool ok = false;
        const double x = e->text().trimmed().toDouble(&ok);
        if (!ok) {
            e->setStyleSheet("QLineEdit { background: #5a2328; }");
            e->setToolTip(QString("'%1' is not a number. %2").arg(e->text(), QString::fromStdString(s.help)));
            return;
        }
        v = x;
    } else if (auto* e = qobject_cast<QSpinBox*>(w)) {
        v = static_cast<long long>(e->value());
    } else if (auto* e = qobject_cast<QComboBox*>(w)) {
        v = e->currentText().toStdString();
    } else if (auto* e = qobject_cast<QCheckBox*>(w)) {
        v = e->isChecked();
    }
    try {
        v = checkParam(s, v, "parameter");
    } catch (const Error& err) {
        w->setStyleSheet("background: #5a2328;");
        w->setToolTip(QString::fromUtf8(err.what()));
        return;
    }
    w->setStyleSheet({});
    w->setToolTip(QString::fromStdString(s.help));
    const auto& all = values_.all();
    auto it = all.find(s.name);
    if (it != all.end() && it->second == v) return;  // unchanged (e.g. focus left a field)
    values_.set(s.name, v);
    updateVisibility();
    emit valuesChanged(values_);
}

}  // namespace tl::ui
