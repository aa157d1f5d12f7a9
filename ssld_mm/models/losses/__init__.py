from .base_distill_loss import BaseDistillLoss
from .js_div_loss import JSDivLoss
from .kl_div_loss import KLDivLoss
from .soft_ce_loss import SoftCELoss
from .symmetric_kl_loss import SymmetricKLLoss

__all__ = ['BaseDistillLoss', 'JSDivLoss', 'SymmetricKLLoss', 'KLDivLoss', 'SoftCELoss']
