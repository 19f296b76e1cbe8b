"""tuijian.augment"""
