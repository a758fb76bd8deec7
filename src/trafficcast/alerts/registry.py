"""Every alert rule type, by rule id: adding a rule type is one entry here.

The API derives each rule's request and response models from its dataclass fields
(api/alerts_models.py), lists and serves it, and the notification dispatcher finds
each alert's rule by its alert type. A rule class is a frozen dataclass following
alerts.rules.RuleConfig (most subclass RuleBase).
"""

from __future__ import annotations

from typing import Final

from trafficcast.alerts.accuracy_rule import AccuracyRuleConfig
from trafficcast.alerts.incident_rule import IncidentRuleConfig
from trafficcast.alerts.predicted_rule import PredictedRuleConfig
from trafficcast.alerts.rules import CongestionRuleConfig, RuleConfig
from trafficcast.alerts.system_rule import SystemRuleConfig

RULES: Final[dict[str, type[RuleConfig]]] = {
    rule.rule_id: rule
    for rule in (
        CongestionRuleConfig,
        IncidentRuleConfig,
        PredictedRuleConfig,
        AccuracyRuleConfig,
        SystemRuleConfig,
    )
}
RULE_IDS: Final = tuple(RULES)
BY_ALERT_TYPE: Final[dict[str, type[RuleConfig]]] = {r.alert_type: r for r in RULES.values()}
