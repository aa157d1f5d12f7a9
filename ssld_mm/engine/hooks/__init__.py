from .fix_res_hook import FixResHook

__all__ = ['FixResHook']
