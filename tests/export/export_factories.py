"""Model factories for the ``ember export`` CLI tests (``export_factories:make_cnn`` etc.)."""

import ember
from ember import nn


def make_cnn():
    ember.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 10),
    )


class TokenScorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(30, 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, ids, weights):
        pooled = (self.emb.weight[ids] * weights.unsqueeze(-1)).sum(1)
        return self.fc(pooled), pooled


def make_scorer():
    ember.manual_seed(2)
    return TokenScorer()


def not_a_module():
    return "a string"
